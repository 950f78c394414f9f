"""The render budget: how much time, loop work and output one message's templates may use.

A template and its data come from the caller, so without bounds four nested loops over 100
items, or `{{ x|ljust:"500000000" }}`, hold a web or worker process for minutes and
gigabytes. The budget is checked inside the renderer, at every loop iteration, printed
value and filter call, and padding widths are refused before the padding is built. Many
messages rendered for one caller also share a time budget: a batch request's
(request_render_budget), a broadcast's across its chunks (RenderPool).

Exceeding it raises RenderLimitExceeded, a BaseException: Django's template code and any
`except Exception` between here and content_render would otherwise swallow it (e.g. an
`{% if %}` condition treats an exception as false) and let the render run on.

This module is also the template library the message engines load last (`register`): it
replaces every built-in filter with a budgeted wrapper."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.template import Library, defaultfilters
from django.template.base import Node, NodeList
from django.template.defaulttags import ForNode


class RenderLimitExceeded(BaseException):
    """A render went over its budget. The message names the limit and its setting."""


class RenderBudget:
    def __init__(self) -> None:
        self.max_seconds = settings.NOTIFY_RENDER_MAX_SECONDS
        self.max_loops = settings.NOTIFY_RENDER_MAX_LOOP_ITERATIONS
        self.max_output = settings.NOTIFY_RENDER_MAX_OUTPUT_CHARS
        self.started = time.monotonic()
        self.deadline = self.started + self.max_seconds
        # Which limit the deadline is: this message's own, the request's or the pool's.
        self.over: str | RenderPool = "message"
        # Inside a request's shared budget (request_render_budget) the message may also not
        # run past what is left of the request's, and inside a pool past what is left of it.
        shared = _REQUEST_DEADLINE.get()
        if shared is not None and shared < self.deadline:
            self.deadline, self.over = shared, "request"
        pool = _POOL.get()
        if pool is not None and self.started + pool.left < self.deadline:
            self.deadline, self.over = self.started + pool.left, pool
        self.loops = 0
        self.output = 0

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            if isinstance(self.over, RenderPool):
                raise RenderLimitExceeded(self.over.exhausted_message())
            if self.over == "request":
                raise RenderLimitExceeded(
                    "the request's messages together took more than "
                    f"{settings.NOTIFY_RENDER_MAX_REQUEST_SECONDS:g} s "
                    "(NOTIFY_RENDER_MAX_REQUEST_SECONDS)."
                )
            raise RenderLimitExceeded(
                f"took more than {self.max_seconds:g} s (NOTIFY_RENDER_MAX_SECONDS)."
            )

    def tick(self) -> None:
        self.loops += 1
        if self.loops > self.max_loops:
            raise RenderLimitExceeded(
                f"more than {self.max_loops} loop iterations (NOTIFY_RENDER_MAX_LOOP_ITERATIONS)."
            )
        self.check_time()

    def spend(self, chars: int) -> None:
        self.output += chars
        if self.output > self.max_output:
            raise RenderLimitExceeded(_too_long(self.max_output))
        self.check_time()


def _too_long(limit: int) -> str:
    return f"output longer than {limit} characters (NOTIFY_RENDER_MAX_OUTPUT_CHARS)."


@dataclass
class RenderPool:
    """Render time shared by messages rendered one after another, possibly in several
    processes: a broadcast's, whose `spent` is kept on its row between chunks. Every render
    inside `render_pool` is charged the time it took, and may not run past what is left, so
    a slow template cannot cost each of 100,000 recipients a whole message's budget."""

    limit: float
    spent: float = 0.0
    setting: str = "NOTIFY_RENDER_MAX_BROADCAST_SECONDS"

    @property
    def left(self) -> float:
        return self.limit - self.spent

    def exhausted_message(self) -> str:
        return (
            f"the broadcast's messages together took more than {self.limit:g} s to render "
            f"({self.setting})."
        )


_BUDGET: ContextVar[RenderBudget | None] = ContextVar("render_budget", default=None)
_REQUEST_DEADLINE: ContextVar[float | None] = ContextVar("render_request_deadline", default=None)
_POOL: ContextVar[RenderPool | None] = ContextVar("render_pool", default=None)


@contextmanager
def request_render_budget() -> Iterator[None]:
    """One time budget shared by every message rendered inside the block (a batch request):
    each message keeps its own limits, and together they may not take longer than
    NOTIFY_RENDER_MAX_REQUEST_SECONDS, so 1,000 items cannot cost 1,000 messages' budgets."""
    token = _REQUEST_DEADLINE.set(time.monotonic() + settings.NOTIFY_RENDER_MAX_REQUEST_SECONDS)
    try:
        yield
    finally:
        _REQUEST_DEADLINE.reset(token)


@contextmanager
def render_pool(pool: RenderPool) -> Iterator[RenderPool]:
    """Charge every message rendered inside the block to `pool` (see RenderPool)."""
    token = _POOL.set(pool)
    try:
        yield pool
    finally:
        _POOL.reset(token)


@contextmanager
def render_budget() -> Iterator[RenderBudget]:
    """A fresh budget for everything rendered inside the block (one message, all parts)."""
    budget = RenderBudget()
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)
        pool = _POOL.get()
        if pool is not None:
            pool.spent += time.monotonic() - budget.started


def template_bound(nodelist: NodeList) -> None:
    """Instrument a freshly compiled template: every loop iteration ticks the budget and
    every leaf node (text, {{ value }}, simple tags) pays for its output. Containers are not
    charged: their output is their leaves' output, already paid for."""
    seen: set[int] = set()
    stack = list(nodelist)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        children = [
            child
            for attr in node.child_nodelists
            for child in (getattr(node, attr, None) or NodeList())
        ]
        if isinstance(node, ForNode):
            # An empty loop body still costs an iteration.
            cast(NodeList, node.nodelist_loop).insert(0, _Tick())
        if children:
            stack.extend(children)
        elif not isinstance(node, _Tick):
            _charge_output(node)


class _Tick(Node):
    child_nodelists = ()

    def render(self, context: Any) -> str:
        budget = _BUDGET.get()
        if budget is not None:
            budget.tick()
        return ""


def _charge_output(node: Node) -> None:
    render = node.render_annotated

    def render_annotated(context: Any) -> str:
        out = cast(str, render(context))
        budget = _BUDGET.get()
        if budget is not None:
            budget.spend(len(out))
        return out

    # Per instance: the compiled template is ours and cached, Django's classes stay intact.
    setattr(node, "render_annotated", render_annotated)  # noqa: B010


# --- Filters ---------------------------------------------------------------------------------
# Filters whose argument is a width: the padding would be built before any check could run.
_WIDTH_FILTERS = frozenset({"ljust", "rjust", "center", "stringformat"})
_NUMBER = re.compile(r"\d+")

register = Library()


def _bounded(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)  # keeps is_safe, needs_autoescape, … and the signature Django checks
    def bounded(value: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _BUDGET.get()
        if budget is not None:
            budget.check_time()
        max_output = budget.max_output if budget else settings.NOTIFY_RENDER_MAX_OUTPUT_CHARS
        max_items = budget.max_loops if budget else settings.NOTIFY_RENDER_MAX_LOOP_ITERATIONS
        if args:
            _check_argument(name, value, args[0], max_output)
        result = func(value, *args, **kwargs)
        if isinstance(result, str) and len(result) > max_output:
            raise RenderLimitExceeded(f"{name}: {_too_long(max_output)}")
        if isinstance(result, list | tuple | dict) and len(result) > max_items:
            raise RenderLimitExceeded(
                f"{name}: a list longer than {max_items} items (NOTIFY_RENDER_MAX_LOOP_ITERATIONS)."
            )
        return result

    return bounded


def _check_argument(name: str, value: Any, arg: Any, max_output: int) -> None:
    if name in _WIDTH_FILTERS:
        # Every number in the argument: a width, or a precision as in stringformat:".9f".
        for digits in _NUMBER.findall(str(arg)):
            if len(digits) > 9 or int(digits) > max_output:
                raise RenderLimitExceeded(
                    f"{name}: width {digits} is more than {max_output} characters "
                    "(NOTIFY_RENDER_MAX_OUTPUT_CHARS)."
                )
    elif (
        name == "join"
        and isinstance(value, list | tuple)
        and len(str(arg)) * len(value) > max_output
    ):
        raise RenderLimitExceeded(f"join: {_too_long(max_output)}")


for _name, _func in defaultfilters.register.filters.items():
    register.filter(_name, _bounded(_name, _func))
