"""Rendering message content with Django's template language, at accept time, so that a
missing variable is the caller's 400 and not a failed delivery later."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any, cast

from celery.exceptions import SoftTimeLimitExceeded
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import FilterExpression, Node, NodeList, VariableDoesNotExist
from django.template.base import Template as DjangoTemplate
from django.template.defaulttags import (
    CycleNode,
    DebugNode,
    FirstOfNode,
    ForNode,
    IfNode,
    LoadNode,
    LoremNode,
    NowNode,
    RegroupNode,
    WidthRatioNode,
    WithNode,
)
from django.template.loader_tags import BlockNode, ExtendsNode, IncludeNode

from channels import channel_class
from notify.models.templates import Template
from notify.services.content.quick_render import quick_render
from notify.services.content.render_limits import (
    RenderBudget,
    RenderLimitExceeded,
    render_budget,
    template_bound,
)

# Message templates are self-contained: no file loaders, so {% include %} and {% extends %}
# cannot reach the server's files. The last builtin library replaces every filter with one
# that keeps to the render budget.
_LIMITS = ["notify.services.content.render_limits"]
_TEXT = Engine(autoescape=False, loaders=[], builtins=_LIMITS)
_HTML = Engine(autoescape=True, loaders=[], builtins=_LIMITS)
# {% debug %} prints the whole context and the server's loaded modules; {% lorem 10000000 %}
# is a one-tag memory bomb with no use in a real message.
_FORBIDDEN = (IncludeNode, ExtendsNode, LoadNode, DebugNode, LoremNode)
_OPTIONAL_FILTERS = {"default", "default_if_none"}
# Tags that store a value under a name for the nodes after them (`{% regroup … as x %}`,
# `{% cycle … as x %}`, `{% firstof … as x %}`, `{% now … as x %}`,
# `{% widthratio … as x %}`), and the attribute holding that name.
_BINDERS: dict[type[Node], str] = {
    RegroupNode: "var_name",
    CycleNode: "variable_name",
    FirstOfNode: "asvar",
    NowNode: "asvar",
    WidthRatioNode: "asvar",
}


class RenderError(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


class RenderLimitError(RenderError):
    """The render ran out of budget (time, loop iterations or output) in one part; the
    message names the limit. Nothing else was rendered after it."""


@lru_cache(maxsize=2048)
def _compile(source: str, html: bool) -> DjangoTemplate:
    try:
        template = (_HTML if html else _TEXT).from_string(source)
        forbidden = [n for n in _walk(template.nodelist) if isinstance(n, _FORBIDDEN)]
    except RecursionError as exc:
        raise TemplateSyntaxError("blocks are nested too deeply") from exc
    if forbidden:
        raise TemplateSyntaxError(f"{forbidden[0].__class__.__name__[:-4].lower()} is not allowed")
    template_bound(template.nodelist)
    return template


def template_check_syntax(*, content: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Field errors for parts that do not compile (or use tags templates may not use)."""
    errors: dict[str, list[str]] = {}
    for channel, parts in content.items():
        for name, source in _sources(parts):
            try:
                _compile(source, html=name == "html")
            except TemplateSyntaxError as exc:
                errors.setdefault(f"{channel}.{name}", []).append(f"Template syntax: {exc}")
    return errors


def content_render(
    *, content: dict[str, dict[str, Any]], context: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Render every part of every channel. Raises RenderError naming each missing variable,
    RenderLimitError when the message goes over its render budget (all parts share one).
    `{% if x %}` and `{{ x|default:"…" }}` keep a variable optional."""
    with render_budget() as budget:
        return _render_all(content, context, budget)


def _render_all(
    content: dict[str, dict[str, Any]], context: dict[str, Any], budget: RenderBudget
) -> dict[str, dict[str, Any]]:
    rendered: dict[str, dict[str, Any]] = {}
    errors: dict[str, list[str]] = {}
    for channel, parts in content.items():
        out: dict[str, Any] = {}
        for name, source in _sources(parts):
            where = f"{channel}.{name}"
            try:
                if "{" not in source:
                    # No tag, variable or comment: the template would be one text node that
                    # renders as itself (paying for its output), so skip building a Context
                    # and walking it. Most inline content of a batch is already final text.
                    budget.spend(len(source))
                    _put(out, name, _finish(channel, name, source))
                    continue
                template = _compile(source, html=name == "html")
                missing = _missing(template, context)
                text = quick_render(template, Context(context, autoescape=name == "html"), budget)
            except RenderLimitExceeded as exc:
                raise RenderLimitError({where: [f"Rendering stopped: {exc}"]}) from None
            except SoftTimeLimitExceeded:
                raise  # the worker's time is up: never a template error
            except Exception as exc:  # a filter or tag failing on this data
                errors.setdefault(where, []).append(f"Cannot render: {exc}")
                continue
            if missing:
                errors.setdefault(where, []).append(
                    "Missing template variable(s): " + ", ".join(missing)
                )
            _put(out, name, _finish(channel, name, text))
        rendered[channel] = out
    if errors:
        raise RenderError(errors)
    return rendered


def _finish(channel: str, name: str, text: str) -> str:
    # The channel's last touch (SMS: no-break spaces would force UCS-2), then trimmed.
    text = channel_class(channel).tidy(name, text)
    return text.strip() if name != "html" else text


def _missing(template: DjangoTemplate, context: dict[str, Any]) -> list[str]:
    """Variables printed with {{ }} that the context lacks, in the branches that would
    render, except names the template binds itself ({% for %}, {% with %}, and tags ending
    in `as name`, such as {% regroup %}) and values with a default filter."""
    names: set[str] = set()
    ctx = Context(context)
    for expression in _checked(template, ctx):
        try:
            expression.var.resolve(ctx)
        except VariableDoesNotExist:
            names.add(str(expression.var))
    return sorted(names)


def _checked(template: DjangoTemplate, ctx: Context) -> list[FilterExpression]:
    """_printed over the whole template. Only an {% if %} makes the walk depend on the
    context (the branch taken): without one the list is the same for every message, so it is
    kept on the (cached) template instead of walked again for each, as a digest's template
    is rendered once per recipient."""
    kept: list[FilterExpression] | None = getattr(template, "_notify_checked", None)
    if kept is not None:
        return kept
    found = list(_printed(template.nodelist, set(), ctx))
    if not any(isinstance(n, IfNode) for n in _walk(template.nodelist)):
        template._notify_checked = found  # type: ignore[attr-defined]
    return found


def _printed(nodes: NodeList, bound: set[str], ctx: Context) -> Iterator[FilterExpression]:
    """The expressions `nodes` print. `bound` grows as a tag binds a name for the nodes after
    it; {% for %}, {% with %} and {% block %} push a context, so what is bound inside them
    stays there, while {% if %} and the other tags render their nodes in the same context."""
    for node in nodes:
        if isinstance(node, ForNode):
            yield from _checkable([cast(FilterExpression, node.sequence)], bound)
            inner = bound | set(node.loopvars) | {"forloop"}
            yield from _printed(cast(NodeList, node.nodelist_loop), inner, ctx)
            yield from _printed(cast(NodeList, node.nodelist_empty), set(bound), ctx)
        elif isinstance(node, WithNode):
            yield from _checkable(list(node.extra_context.values()), bound)
            yield from _printed(node.nodelist, bound | set(node.extra_context), ctx)
        elif isinstance(node, IfNode):
            yield from _printed(_taken_branch(node, ctx), bound, ctx)
        elif isinstance(node, BlockNode):
            yield from _printed(node.nodelist, set(bound), ctx)
        else:
            if isinstance(node, RegroupNode):  # its list, as a {% for %}'s sequence
                yield from _checkable([node.target], bound)
            expression = getattr(node, "filter_expression", None)
            if isinstance(expression, FilterExpression):
                yield from _checkable([expression], bound)
            for attr in getattr(node, "child_nodelists", ()):
                yield from _printed(getattr(node, attr, None) or NodeList(), bound, ctx)
            attr = _BINDERS.get(type(node))
            if attr and getattr(node, attr, None):
                bound.add(str(getattr(node, attr)))


def _taken_branch(node: IfNode, ctx: Context) -> NodeList:
    for condition, branch in node.conditions_nodelists:
        try:
            # django-stubs types the argument as a dict; Django itself passes the Context.
            taken = condition is None or condition.eval(ctx)  # type: ignore[arg-type]
        except VariableDoesNotExist:
            taken = False
        if taken:
            return branch
    return NodeList()


def _checkable(expressions: list[FilterExpression], bound: set[str]) -> Iterator[FilterExpression]:
    for expression in expressions:
        var = expression.var
        if not hasattr(var, "resolve") or getattr(var, "literal", None) is not None:
            continue  # a literal string or number
        if str(var).split(".")[0] in bound:
            continue
        if any(f.__name__ in _OPTIONAL_FILTERS for f, _ in expression.filters):
            continue
        yield expression


def _walk(nodes: NodeList) -> Iterator[Node]:
    for node in nodes:
        yield node
        for attr in getattr(node, "child_nodelists", ()):
            yield from _walk(getattr(node, attr, None) or NodeList())
        if isinstance(node, IfNode):
            for _, branch in node.conditions_nodelists:
                yield from _walk(branch)


def _sources(parts: dict[str, Any]) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for name, value in parts.items():
        if name == "data" and isinstance(value, dict):
            items.extend((f"data.{k}", str(v)) for k, v in value.items())
        elif isinstance(value, str):
            items.append((name, value))
    return items


def _put(out: dict[str, Any], name: str, text: str) -> None:
    if name.startswith("data."):
        out.setdefault("data", {})[name[5:]] = text
    else:
        out[name] = text


def template_resolve(*, tenant: str, key: str, locale: str = "") -> Template | None:
    """The template for `key` in the most specific locale available: fr-CA, fr, then the
    default (no locale)."""
    candidates = [""]
    if locale:
        base = locale.split("-", maxsplit=1)[0]
        candidates = [locale, base, ""] if base != locale else [locale, ""]
    found = {
        t.locale: t for t in Template.objects.filter(tenant=tenant, key=key, locale__in=candidates)
    }
    return next((found[c] for c in candidates if c in found), None)


class TemplateCache:
    """template_resolve, asked once per (tenant, key, locale) for the life of the cache: one
    batch, broadcast chunk or digest flush chunk."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, str, str], Template | None] = {}

    def __call__(self, *, tenant: str, key: str, locale: str = "") -> Template | None:
        if (tenant, key, locale) not in self._found:
            self._found[(tenant, key, locale)] = template_resolve(
                tenant=tenant, key=key, locale=locale
            )
        return self._found[(tenant, key, locale)]
