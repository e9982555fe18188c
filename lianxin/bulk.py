"""Many rows into one table in one statement: the hot paths' INSERTs (intake, the outbox,
notify's deliveries).

SQLAlchemy sends a list of rows to psycopg2 as one multi-row ``VALUES`` ("insertmanyvalues"),
which psycopg2 fills in on the client: every value of every row adapted and quoted into the
SQL text, and every row through SQLAlchemy's bind processors — a batch of 30 tickets is
1,000 values, the largest part of intake's INSERTs in the tickets service's profile.
On PostgreSQL :func:`insert_rows` sends the rows as *one* JSON parameter instead, which the
server unpacks into the table's row type (``json_populate_recordset``)::

    INSERT INTO tickets (id, center_id, …) SELECT id, center_id, …
    FROM json_populate_recordset(NULL::tickets, %(rows)s)

One value to quote, and the server parses JSON instead of a thousand literals: a batch of 30
tickets' rows with its transaction took 5.6 → 2.2 ms of the client's CPU and 9.7 → 5.6 ms in
all (``bench/bulk_insert.py``).
Elsewhere (SQLite) the rows go through SQLAlchemy's ``insert`` as before.

Values are what SQLAlchemy would store: each column's bind processing (``UTCDateTime`` turns
a time into UTC; a time then travels as ISO 8601), the columns' Python-side defaults for
what a row leaves out; a JSON column's value travels as JSON inside the rows.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Column, Connection, Table, event, insert, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session
from sqlalchemy.types import JSON


def insert_rows(
    conn: Connection,
    into: Table | type[Any],
    rows: Sequence[dict[str, Any]],
    *,
    on_conflict: Sequence[str] | bool = False,
    returning: str | None = None,
) -> list[Any] | None:
    """Insert ``rows`` (each with the same keys) in one statement.

    ``on_conflict``: skip the rows a unique constraint already holds — the one on these
    columns, or any with ``True``. ``returning``: a column whose values for the rows
    inserted are returned (skipped rows return nothing); else ``None`` is returned.
    ``into``: a table, or a mapped class (its table; the ORM's unit of work is not used)."""
    if not rows:
        return [] if returning else None
    table, conflict = _checked(into, rows, on_conflict)
    dialect = conn.dialect
    if dialect.name != "postgresql":
        stmt = _core_insert(table, dialect.name, conflict, returning)
        result = conn.execute(stmt, list(rows))
        return list(result.scalars()) if returning else None
    plan = _plan(table, tuple(rows[0]), conflict, returning, dialect)
    result = conn.execute(plan.statement, {"rows": plan.payload(rows)})
    return list(result.scalars()) if returning else None


def defer_rows(
    session: Session,
    into: Table | type[Any],
    rows: Sequence[dict[str, Any]],
    *,
    on_conflict: Sequence[str] | bool = False,
) -> None:
    """Insert ``rows`` as :func:`insert_rows` does, but on PostgreSQL not yet: with the
    session's other deferred INSERTs, in *one* round trip, at :func:`flush_rows` or at the
    latest when the session commits (a rollback drops them). For writes whose result
    nobody reads — a batch's tickets, timeline and events, notify's archive and processed
    marks — which otherwise cost a round trip each. Elsewhere (SQLite, no
    round trips to save) and in a savepoint, at once.

    Only for rows nothing reads before the flush in the same transaction (a query would
    not see them yet)."""
    if not rows:
        return
    table, conflict = _checked(into, rows, on_conflict)
    conn = session.connection()
    # In a savepoint, at once: a savepoint rolled back must take its rows with it.
    if conn.dialect.name != "postgresql" or session.get_nested_transaction() is not None:
        conn.execute(_core_insert(table, conn.dialect.name, conflict, None), list(rows))
        return
    plan = _plan(table, tuple(rows[0]), conflict, None, conn.dialect)
    session.info.setdefault(_DEFERRED, []).append((plan, plan.payload(rows)))


def flush_rows(session: Session) -> None:
    """Send the session's deferred INSERTs (:func:`defer_rows`), all in one round trip."""
    deferred = session.info.pop(_DEFERRED, None)
    if not deferred:
        return
    sql = "; ".join(
        plan.template.replace(_ROWS, f":rows_{i}") for i, (plan, _) in enumerate(deferred)
    )
    session.connection().execute(
        _text(sql), {f"rows_{i}": payload for i, (_, payload) in enumerate(deferred)}
    )


#: ``session.info`` key of the INSERTs deferred in its transaction.
_DEFERRED = "lianxin_bulk_deferred"
#: Where a statement template takes its rows.
_ROWS = ":__rows__"


@event.listens_for(Session, "before_commit")
def _flush_before_commit(session: Session) -> None:
    if session.get_nested_transaction() is None:  # the transaction's commit, not a savepoint's
        flush_rows(session)


@event.listens_for(Session, "after_transaction_end")
def _drop_on_end(session: Session, transaction: Any) -> None:
    # Rolled back or closed without a commit (a commit has flushed them). A savepoint's end
    # leaves them: nothing is deferred inside one.
    if transaction.parent is None:
        session.info.pop(_DEFERRED, None)


@functools.lru_cache(maxsize=256)
def _text(sql: str) -> Any:
    return text(sql)


def _checked(
    into: Table | type[Any], rows: Sequence[dict[str, Any]], on_conflict: Sequence[str] | bool
) -> tuple[Table, tuple[str, ...] | None]:
    """The table, and the conflict target: these columns, any unique constraint (()), or
    none (None)."""
    table: Table = into if isinstance(into, Table) else into.__table__
    keys = rows[0].keys()
    if any(len(row) != len(keys) or row.keys() != keys for row in rows):
        raise ValueError(f"insert_rows into {table.name}: every row needs the same columns")
    conflict = None if on_conflict is False else () if on_conflict is True else tuple(on_conflict)
    return table, conflict


class _Plan:
    """One table's statement for one set of columns, and how each value is encoded."""

    def __init__(self, template: str, columns: list[Column], fill: list[Column], dialect: Any):
        self.template = template
        self.statement = text(template.replace(_ROWS, ":rows"))
        self._encoders = [(c.name, _encoder(c, dialect)) for c in columns]
        self._fill = [(c.name, _encoder(c, dialect), c) for c in fill]

    def payload(self, rows: Sequence[dict[str, Any]]) -> str:
        """The rows as they travel: one JSON array."""
        return json.dumps(
            [self.encode(row) for row in rows],
            ensure_ascii=False,
            separators=(",", ":"),
            default=_jsonable,
        )

    def encode(self, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` as it travels, with the Python-side defaults of the columns it leaves out."""
        out = {name: fn(row[name]) for name, fn in self._encoders}
        for name, fn, column in self._fill:
            out[name] = fn(_default(column))
        return out


@functools.cache
def _plan(
    table: Table,
    keys: tuple[str, ...],
    conflict: tuple[str, ...] | None,
    returning: str | None,
    dialect: Any,
) -> _Plan:
    columns = [table.c[k] for k in keys]
    # A column left out that has a Python-side default gets it, as SQLAlchemy's insert would.
    fill = [
        c
        for c in table.c
        if c.name not in keys and c.default is not None and not c.default.is_sequence
    ]
    prep = dialect.identifier_preparer
    quoted = ", ".join(prep.quote(c.name) for c in (*columns, *fill))
    target = prep.format_table(table)
    sql = (
        f"INSERT INTO {target} ({quoted}) SELECT {quoted} "
        f"FROM json_populate_recordset(NULL::{target}, {_ROWS})"
    )
    if conflict is not None:
        targets = f" ({', '.join(prep.quote(c) for c in conflict)})" if conflict else ""
        sql += f" ON CONFLICT{targets} DO NOTHING"
    if returning:
        sql += f" RETURNING {prep.quote(returning)}"
    return _Plan(sql, columns, fill, dialect)


def _encoder(column: Column, dialect: Any) -> Callable[[Any], Any]:
    """How a column's value travels: its JSON as it is, anything else bind-processed as
    SQLAlchemy would store it (a time then written as ISO 8601 by :func:`_jsonable`)."""
    if isinstance(column.type, JSON):
        return _same
    process = column.type.bind_processor(dialect)
    if process is None:
        return _same
    return process


def _same(value: Any) -> Any:
    return value


def _default(column: Column) -> Any:
    default = cast(Any, column.default)
    if default.is_scalar:
        return default.arg
    return default.arg(None)  # SQLAlchemy wraps a default of no arguments to take a context


def _jsonable(value: Any) -> Any:
    """What ``json`` can't write itself: a time (ISO 8601), anything else as its text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


@functools.cache
def _core_insert(
    table: Table, dialect: str, conflict: tuple[str, ...] | None, returning: str | None
) -> Any:
    make: Any = sqlite.insert if dialect == "sqlite" else insert
    stmt = make(table)
    if conflict is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict) or None)
    if returning:
        stmt = stmt.returning(table.c[returning])
    return stmt
