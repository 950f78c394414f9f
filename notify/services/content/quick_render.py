"""Rendering a compiled message template with less of the template engine's per-node work,
for the output Django's own render would give.

A digest renders its template over every item (`{% for item in digest.items %}…`), and
Django pays for each node in each iteration: `render_annotated`, FilterExpression and
Variable resolution with their attribute, index and call fallbacks, localisation of the
value. Most nodes in message templates are text, `{{ a.b.c }}` over JSON data, `{% for %}`
and `{% if %}`; those are rendered here directly:

- text: as is;
- `{{ a.b }}` without filters: looked up in the Context, then key by key while the value is a
  dict holding the key and nothing along the way is callable; a string is printed as it is
  (escaped in HTML, by render_value_in_context as Django would), anything else goes through
  render_value_in_context. A lookup that needs anything more (a missing key, a list index,
  a method) is left to the node itself;
- `{% for x in seq %}` (one loop variable) and `{% if %}`: the same steps as their render(),
  with their bodies rendered here.

Every other node renders itself, in the same Context. The render budget is paid as the
instrumented template pays it (render_limits.template_bound): each printed leaf its output,
each loop iteration a tick (its _Tick node renders itself)."""

from __future__ import annotations

from typing import Any, cast

from django.template import Context
from django.template.base import (
    FilterExpression,
    Node,
    NodeList,
    TextNode,
    VariableDoesNotExist,
    VariableNode,
    render_value_in_context,
)
from django.template.base import Template as DjangoTemplate
from django.template.defaulttags import ForNode, IfNode

from notify.services.content.render_limits import RenderBudget

_TEXT, _VAR, _FOR, _IF, _NODE = range(5)
_MISSING = object()
Step = tuple[int, Any, Any, bool]


def quick_render(template: DjangoTemplate, context: Context, budget: RenderBudget) -> str:
    """str(template.render(context)), spending `budget` as that would."""
    # As Template.render: the render context's state for this template, the template bound.
    with context.render_context.push_state(template):
        if context.template is None:
            with context.bind_template(template):
                context.template_name = template.name
                return _render(template.nodelist, context, budget)
        return _render(template.nodelist, context, budget)


def _render(nodes: NodeList, context: Context, budget: RenderBudget) -> str:
    steps: list[Step] | None = getattr(nodes, "_quick_steps", None)
    if steps is None:
        steps = [_step(node) for node in nodes]
        # On the NodeList itself: compiled templates are cached (rendering._compile), and so
        # is this, for as long as they are.
        nodes._quick_steps = steps  # type: ignore[attr-defined]
    out = []
    for kind, node, arg, charged in steps:
        if kind == _TEXT:
            text = arg
        elif kind == _VAR:
            value = _lookup(context, arg)
            if value is _MISSING:
                out.append(node.render_annotated(context))  # pays for itself if charged
                continue
            if type(value) is str and not context.autoescape:
                text = value
            else:
                text = render_value_in_context(value, context)
        elif kind == _FOR:
            out.append(_for(node, arg, context, budget))
            continue
        elif kind == _IF:
            out.append(_if(node, context, budget))
            continue
        else:
            out.append(node.render_annotated(context))
            continue
        if charged:
            budget.spend(len(text))
        out.append(text)
    return "".join(out)


def _step(node: Node) -> Step:
    # A leaf pays for its output only where template_bound wrapped it.
    charged = "render_annotated" in vars(node)
    if type(node) is TextNode:
        return (_TEXT, node, node.s, charged)
    if type(node) is VariableNode:
        expression = node.filter_expression
        var = expression.var
        if (
            not expression.filters
            and expression.is_var
            and var.lookups is not None
            and not var.translate
        ):
            return (_VAR, node, var.lookups, charged)
    elif type(node) is ForNode and len(node.loopvars) == 1:
        return (_FOR, node, node.loopvars[0], False)
    elif type(node) is IfNode:
        return (_IF, node, None, False)
    return (_NODE, node, None, False)


def _lookup(context: Context, lookups: tuple[str, ...]) -> Any:
    """The value Variable._resolve_lookup would find, when it is found by key lookups alone;
    otherwise _MISSING."""
    try:
        value = context[lookups[0]]
    except KeyError:
        return _MISSING
    for bit in lookups[1:]:
        if callable(value) or type(value) is not dict or bit not in value:
            return _MISSING
        value = value[bit]
    return _MISSING if callable(value) else value


def _for(node: ForNode, loopvar: str, context: Context, budget: RenderBudget) -> str:
    """ForNode.render for one loop variable, the body rendered here."""
    parentloop = context.get("forloop", {})
    with context.push():
        values = cast(FilterExpression, node.sequence).resolve(context, ignore_failures=True)
        if values is None:
            values = []
        if not hasattr(values, "__len__"):
            values = list(values)
        count = len(values)
        if count < 1:
            return _render(cast(NodeList, node.nodelist_empty), context, budget)
        if node.is_reversed:
            values = reversed(values)
        loop = context["forloop"] = {"parentloop": parentloop}
        body = cast(NodeList, node.nodelist_loop)
        out = []
        for i, item in enumerate(values):
            loop["counter0"] = i
            loop["counter"] = i + 1
            loop["revcounter"] = count - i
            loop["revcounter0"] = count - i - 1
            loop["first"] = i == 0
            loop["last"] = i == count - 1
            context[loopvar] = item
            out.append(_render(body, context, budget))
        return "".join(out)


def _if(node: IfNode, context: Context, budget: RenderBudget) -> str:
    """IfNode.render, the branch taken rendered here."""
    for condition, branch in node.conditions_nodelists:
        if condition is not None:
            try:
                # django-stubs types the argument as a dict; Django passes the Context.
                match = condition.eval(context)  # type: ignore[arg-type]
            except VariableDoesNotExist:
                match = None
        else:
            match = True
        if match:
            return _render(cast(NodeList, branch), context, budget)
    return ""
