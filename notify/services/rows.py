"""Reading and writing rows on the accept path without the ORM's per-query work.

Reading (`rows_select`): the ORM builds and compiles its SQL anew for every query, ~0.3-0.5 ms
of CPU for the simple reads an accept makes (recipients, category, devices, suppressions,
the frequency cap), several times what Postgres spends answering them; a single create makes
about six. Here the SQL is written once and the instances are built as the ORM builds them
(`Model.from_db`, each field's `from_db_value`), so the callers get the same objects.

Writing many new rows in one statement without the ORM's per-value preparation:

`bulk_create` prepares every value of every row through its field (`get_db_prep_save`) and
builds a placeholder per value: for a 1,000-item batch (~1,000 notifications, ~2,000
deliveries) that was a quarter of the request's CPU, and quoting each row with psycopg2
(`execute_values`) still cost ~80 µs a row. Here the rows go to Postgres as COPY text:
each attribute value written as COPY reads it (NULL as \\N, JSON as its text, the four
characters COPY treats specially escaped). The objects end up as `bulk_create` leaves them:
`auto_now`/`auto_now_add` times set, marked as saved. Only for models whose primary key is
set before the insert (the UUID ids here); no signals are sent, as with `bulk_create`."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from operator import itemgetter
from typing import Any, TypeVar
from uuid import UUID

from django.db import connection, models
from django.db.models.base import ModelState
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from django.utils import timezone

M = TypeVar("M", bound=models.Model)

# A default meaning "not passed: read it from the database" where None is a real value.
LOOK_UP: Any = object()


def rows_select(
    model: type[M], sql: str, params: Any, *, alias: str, extra: Sequence[str] = ()
) -> list[M]:
    """Instances of `model` from `sql`, whose `{columns}` stands for every concrete column of
    the model under the table alias `alias`; columns the SQL selects after those are set as
    attributes named by `extra` (as an `annotate()` would)."""
    fields = model._meta.concrete_fields
    names, converters = _reading(model)
    with connection.cursor() as cursor:
        cursor.execute(sql.format(columns=_columns(model, alias)), params)
        rows = cursor.fetchall()
    found = []
    width = len(fields)
    for row in rows:
        values = list(row[:width])
        for i, convert in converters:
            values[i] = convert(values[i], None, connection)
        obj = model.from_db(connection.alias, names, values)
        for name, value in zip(extra, row[width:], strict=True):
            setattr(obj, name, value)
        found.append(obj)
    return found


@cache
def _reading(model: type[models.Model]) -> tuple[list[str], list[tuple[int, Any]]]:
    fields = model._meta.concrete_fields
    converters = [(i, f.from_db_value) for i, f in enumerate(fields) if hasattr(f, "from_db_value")]
    return [f.attname for f in fields], converters


@cache
def _columns(model: type[models.Model], alias: str) -> str:
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(str(f.column))}" for f in model._meta.concrete_fields)


def row_build(model: type[M], /, **values: Any) -> M:
    """`model(**values)`, built without `Model.__init__`'s per-field work (~40 µs for a
    delivery: a kwargs lookup and a `get_default()` call per field), which planning pays for
    every notification and delivery it makes. The instance is the same: every field set in
    declaration order, the given value or the field's default; a related object passed by
    name set through its descriptor (the cached object, `_state.db`), as `__init__` does.
    Anything this does not cover (a signal listening, an unknown keyword, a relation given
    both ways) takes `__init__`, which builds it or refuses it."""
    plan = _building(model)
    if plan is None or pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model(**values)
    template, makers, relations = plan
    linked = relations.values()
    obj = model.__new__(model)
    attrs = obj.__dict__
    attrs["_state"] = ModelState()
    attrs.update(template)  # every field in order, with its default when that is a constant
    for attname, name, make in makers:
        if attname not in values and name not in values:
            attrs[attname] = make()
    for key, value in values.items():
        if key in relations:
            if relations[key] in values:
                return model(**values)
            setattr(obj, key, value)  # the descriptor: attname, cache, _state.db, checks
        elif key in linked:
            setattr(obj, key, value)  # a relation's id: its descriptor, as __init__ does
        elif key in template:
            attrs[key] = value
        else:
            return model(**values)
    return obj


# Per model: {attname: constant default} for every field, in order; (attname, relation name,
# default maker) for fields whose default must be made per instance; {relation name: attname}.
_Plan = tuple[dict[str, Any], list[tuple[str, str | None, Callable[[], Any]]], dict[str, str]]


@cache
def _building(model: type[models.Model]) -> _Plan | None:
    """row_build's plan for `model`, or None when some field's attribute is not a plain one
    that a write to `__dict__` can stand for."""
    template: dict[str, Any] = {}
    makers: list[tuple[str, str | None, Callable[[], Any]]] = []
    relations: dict[str, str] = {}
    for field in model._meta.fields:
        if field.column is None or field.generated:
            return None  # virtual or generated fields: __init__'s rules
        if not isinstance(getattr(model, field.attname, None), DeferredAttribute):
            return None
        if field.is_relation:
            relations[field.name] = field.attname
        template[field.attname] = None
        if field.has_default() and not callable(field.default) and not field.is_relation:
            template[field.attname] = field.default  # what get_default() answers every time
        elif field.has_default() or field.has_db_default() or field.is_relation:
            makers.append(
                (field.attname, field.name if field.is_relation else None, field.get_default)
            )
        else:
            template[field.attname] = field.get_default()  # None or "": the same every time
    return template, makers, relations


def rows_insert(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """INSERT `objs` (new instances of `model`, primary keys set) in one COPY."""
    if not objs:
        return
    statement, values_of, json_at = _copying(model)
    stamped, alias, writers = _stamped(model), connection.alias, _WRITERS
    lines = []
    for obj in objs:
        attrs = obj.__dict__
        now = timezone.now()  # one reading per row, as bulk_create's pre_save takes
        for name in stamped:
            attrs[name] = now
        values = list(values_of(attrs))
        for i in json_at:
            if values[i] is not None:
                values[i] = json.dumps(values[i])
        lines.append("\t".join([(writers.get(type(v)) or _writer(type(v)))(v) for v in values]))
        obj._state.adding, obj._state.db = False, alias
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.cursor.copy_expert(statement, io.StringIO("\n".join(lines) + "\n"))


@cache
def _copying(model: type[models.Model]) -> tuple[str, Callable[[dict[str, Any]], Any], list[int]]:
    """The COPY statement, what reads a row's values from an instance's `__dict__`, and
    which of them are JSON: the same for every call, and building them again cost a single
    create ~0.1 ms (a quoted name per column, each through the connection proxy)."""
    fields = model._meta.concrete_fields
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(str(f.column)) for f in fields)
    # Names from the model's metadata; values travel as data, never as SQL.
    statement = f"COPY {table} ({columns}) FROM STDIN"
    names = [f.attname for f in fields]
    json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    values_of = itemgetter(*names) if len(names) > 1 else lambda attrs: (attrs[names[0]],)
    return statement, values_of, json_at


def rows_insert_new(model: type[models.Model], objs: Sequence[models.Model]) -> set[Any]:
    """INSERT `objs` (new instances, primary keys set) in one statement, skipping any that
    conflicts with a stored row (a unique key taken concurrently): the primary keys of those
    written, which are then as `bulk_create` leaves them. The rows travel as one JSON array
    that Postgres reads into the table's row type, so no value is quoted here."""
    if not objs:
        return set()
    sql, pairs = _inserting_new(model)
    stamped = _stamped(model)
    rows = []
    for obj in objs:
        attrs, now = obj.__dict__, timezone.now()
        for name in stamped:
            attrs[name] = now
        rows.append({column: attrs[attname] for column, attname in pairs})
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(rows, default=str)])
        written = {str(row[0]) for row in cursor.fetchall()}
    saved = {obj.pk for obj in objs if str(obj.pk) in written}
    alias = connection.alias
    for obj in objs:
        if obj.pk in saved:
            obj._state.adding, obj._state.db = False, alias
    return saved


@cache
def _inserting_new(model: type[models.Model]) -> tuple[str, list[tuple[str, str]]]:
    """rows_insert_new's statement and (column, attname) pairs, built once per model."""
    fields = model._meta.concrete_fields
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(str(f.column)) for f in fields)
    pk = quote(str(model._meta.pk.column))
    # Names from the model's metadata; values travel as data, never as SQL.
    sql = (
        f"INSERT INTO {table} ({columns}) SELECT {columns} "  # noqa: S608
        f"FROM json_populate_recordset(NULL::{table}, %s) ON CONFLICT DO NOTHING "
        f"RETURNING {pk}"
    )
    return sql, [(str(f.column), f.attname) for f in fields]


@cache
def _stamped(model: type[models.Model]) -> list[str]:
    """The fields the ORM sets to now on save (auto_now, auto_now_add): set here too."""
    return [
        f.attname
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]


def _writer(kind: type) -> Callable[[Any], str]:
    """How values of exactly `kind` are written as COPY's text format reads them: chosen
    once per type and remembered, so a value costs one dict lookup, not a chain of
    isinstance checks (~25,000 per batch)."""
    if kind is type(None):
        write: Callable[[Any], str] = _null
    elif issubclass(kind, bool):
        write = _boolean
    elif issubclass(kind, str):
        write = _escaped
    elif issubclass(kind, datetime):
        write = _time
    elif issubclass(kind, int):
        write = _integer
    else:
        write = _other  # UUIDs
    _WRITERS[kind] = write
    return write


def _null(value: None) -> str:
    return "\\N"


def _boolean(value: bool) -> str:
    return "t" if value else "f"


def _escaped(value: str) -> str:
    # str.translate looks each character up in a dict: 27 µs for a rendered content's JSON
    # (~300 characters), against ~1 µs for four scans in C. Backslashes first, so the
    # ones the other three add are not doubled again.
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
        return value.replace("\r", "\\r")
    return value


def _time(value: datetime) -> str:
    if value.utcoffset() is None:  # timezone.is_naive, without its call
        raise ValueError("naive datetime in an aware database")
    return value.isoformat()


def _integer(value: int) -> str:
    return str(int(value))  # an IntegerChoices member prints as its name otherwise


def _other(value: Any) -> str:
    return _escaped(str(value))


# Filled in by _writer; the common types are there from the start.
_WRITERS: dict[type, Callable[[Any], str]] = {
    str: _escaped,
    type(None): _null,
    int: str,
    UUID: str,
}
