"""A page's hot reads, run on the session's DBAPI cursor with what SQLAlchemy works out per
statement worked out once per process.

Session.execute spends more on each statement than SQLite spends running it (measured on the
session record's lookup, 10k posts: 170 µs through the ORM, 53 µs as Core on the connection,
19 µs on the cursor): it looks the compiled form up in its cache, builds an execution context
and a result, and processes every value through the column's type. A page's few statements are
the same objects on every request (built once, see queries.py), so `plan_for` compiles each
once and keeps its SQL, its parameters' order and defaults and its columns' value processors;
`rows` only fills in the values.

It stays on the session's connection and transaction, and goes through SQLAlchemy's own
cursor-level call (Connection._cursor_execute, its one place for this), so statement events
still fire (prepared.py's, the tests' and the benchmark's statement counts) and a failure is the
same SQLAlchemy error, with the same disconnect handling, as through Session.execute.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import sqlalchemy as sa

from .extensions import db

Process = Callable[[Any], Any]
AnySelect = sa.Select[*tuple[Any, ...]]  # a select of any columns: the pages' statements
M = TypeVar("M")
REQUIRED = object()  # a bound parameter's default where the caller must give a value


@dataclass(frozen=True)
class Plan:
    """One statement as its dialect runs it: SQL, parameters in order, per-column processors."""

    sql: str
    # (DBAPI name, the statement's bind key, its value if none is given, its bind processor)
    params: tuple[tuple[str, str, Any, Process | None], ...]
    positional: bool
    results: tuple[tuple[int, Process], ...]  # (column, its result processor), those that have one


def rows(statement: AnySelect, values: Mapping[str, object]) -> list[tuple[Any, ...]]:
    """Run a Core select with these values for its bound parameters; return its rows, processed
    by their columns' types as Session.execute would (aware datetimes, booleans)."""
    plan = plan_for(db.engine.dialect.name, statement)
    connection = db.session.connection()
    dbapi: Any = connection.connection.dbapi_connection
    cursor = dbapi.cursor()
    try:
        connection._cursor_execute(cursor, plan.sql, _parameters(plan, values))
        fetched = cursor.fetchall()
    finally:
        cursor.close()
    if not plan.results:
        return [tuple(row) for row in fetched]
    out = []
    for row in fetched:
        processed = list(row)
        for index, process in plan.results:
            processed[index] = process(processed[index])
        out.append(tuple(processed))
    return out


def core_select(statement: AnySelect) -> AnySelect:
    """The Core select an ORM statement compiles to (its entities' columns, its eager joins):
    the same SQL, as `rows` runs it, with rows that are plain values."""
    state: Any = statement.compile(dialect=db.engine.dialect).compile_state
    core: AnySelect = state.statement
    return core


def _parameters(plan: Plan, values: Mapping[str, object]) -> Sequence[Any] | dict[str, Any]:
    processed = []
    for name, key, default, process in plan.params:
        value = values.get(key, default)
        if value is REQUIRED:
            raise sa.exc.ArgumentError(f"a value is required for bind parameter {key!r}")
        processed.append((name, value if process is None else process(value)))
    if plan.positional:
        return tuple(value for _, value in processed)  # a list would read as many parameter sets
    return dict(processed)


@lru_cache(maxsize=512)
def plan_for(dialect_name: str, statement: AnySelect) -> Plan:
    """Compile a statement once per process (statements are built once: the same objects come
    back) with its literal-execute values written in, and keep what running it needs."""
    dialect = db.engine.dialect
    compiled: Any = statement.compile(dialect=dialect)
    binds = {name: bind for bind, name in compiled.bind_names.items()}
    if any(bind.expanding for bind in binds.values()):
        raise ValueError("a statement with an expanding IN list is planned per execution")
    # The values the caller gives stand in as None: only the written-in ones are rendered.
    given = {bind.key: None for bind in binds.values() if bind.required}
    state = compiled.construct_expanded_state(given, escape_names=False)
    params = []
    for name in state.positiontup or state.parameters:  # positional: repeats included
        bind = binds[name]
        default = REQUIRED if bind.required else state.parameters[name]
        dbapi_name = compiled.escaped_bind_names.get(name, name)
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        params.append((dbapi_name, bind.key, default, process))
    processors = (
        column.type.dialect_impl(dialect).result_processor(dialect, None)
        for column in statement.selected_columns
    )
    results = tuple((i, p) for i, p in enumerate(processors) if p is not None)
    return Plan(state.statement, tuple(params), state.positiontup is not None, results)


def persistent(model: type[M], values: Mapping[str, Any]) -> M:
    """Return the session's instance of model for a row just read with `rows`: as if the ORM had
    loaded it (its attributes without history, so only what the request changes is written
    back), or the one the session already holds for that row."""
    mapper = sa.inspect(model)
    key = mapper.identity_key_from_primary_key([values[c.key] for c in mapper.primary_key])
    session = db.session()
    known = session.identity_map.get(key)
    if known is not None:
        return known  # type: ignore[no-any-return]
    # As the ORM's loading does (orm/loading.py, a new instance): no __init__, values straight
    # into its dict, its identity, into the identity map, attached; no history, so unchanged.
    # Session.add instead walks every relationship's cascade: 3% of a home page (callgrind).
    instance: M = mapper.class_manager.new_instance()
    instance.__dict__.update(values)
    state = sa.inspect(instance)
    state.key, state.identity_token = key, None
    state.session_id = session.hash_key
    session.identity_map._add_unpresent(state, key)
    return instance


def columns(model: type[Any]) -> tuple[sa.Column[Any], ...]:
    """A model's table columns, in the order `from_row` reads them back."""
    return tuple(sa.inspect(model).local_table.columns)


_NAMES: dict[type[Any], tuple[str, ...]] = {}  # each model's column keys, as from_row reads them


def from_row(model: type[M], row: Sequence[Any], start: int = 0) -> M:
    """`persistent` for the model's `columns`, selected in a row from position start."""
    names = _NAMES.get(model) or _NAMES.setdefault(model, tuple(c.key for c in columns(model)))
    return persistent(model, dict(zip(names, row[start : start + len(names)], strict=True)))
