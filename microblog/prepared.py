"""PostgreSQL: statements stay prepared, and planned once, from one request to the next.

psycopg prepares a statement on its connection once it has run it five times, and PostgreSQL
then parses it once and plans it once (a generic plan) instead of on every request: about half
of what a page costs the database (measured at 10k posts: the home page 3.5 -> 1.5 ms of backend
CPU, a thread 2.4 -> 0.8). PostgreSQL keeps planning anew each time a statement whose generic
plan it estimates a little dearer than a plan for the values in hand: the tag page's, whose
plans differ in nothing but that estimate, planned in 0.6 ms to run in 0.3. The pages'
statements are written to be planned once (a page's LIMIT and search terms written in, never
bound), so the app's connections always take the generic plan. But psycopg forgets
its prepared statements and its counts on every ROLLBACK, and every request ends with one (the
session's close), so nothing was ever prepared. A transaction that wrote nothing ends the same
either way: such a transaction ends with COMMIT, which leaves them be. Any other statement in
the transaction (or one that failed) keeps its ROLLBACK.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import psycopg
import sqlalchemy as sa

WROTE = "microblog_wrote"  # in Connection.info: this transaction ran more than reads
READING = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)
# Words that make a SELECT write or lock something (a data-modifying CTE, SELECT ... INTO, a
# sequence, FOR UPDATE): such a transaction keeps its ROLLBACK.
WRITING = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|INTO|CREATE|ALTER|DROP|TRUNCATE|NEXTVAL|SETVAL|LOCK)\b",
    re.IGNORECASE,
)


def init_app(engine: sa.Engine) -> None:
    """Have read-only transactions on this PostgreSQL engine end with COMMIT, and its prepared
    statements planned once."""
    sa.event.listen(engine, "connect", _plan_once, insert=True)
    sa.event.listen(engine, "begin", _begin)
    sa.event.listen(engine, "before_cursor_execute", _note_writes)
    sa.event.listen(engine, "rollback", _commit_if_read_only)


@lru_cache(maxsize=1024)
def only_reads(statement: str) -> bool:
    """Whether a statement only reads (the same strings come back: built once, see queries.py)."""
    return bool(READING.match(statement)) and not WRITING.search(statement)


def _plan_once(dbapi_connection: Any, _record: Any) -> None:
    """Set the new connection's plan cache to the generic plan: one statement, no transaction."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        dbapi_connection.execute("SET plan_cache_mode = force_generic_plan")
    finally:
        dbapi_connection.autocommit = autocommit


def _begin(conn: sa.Connection) -> None:
    conn.info.pop(WROTE, None)


def _note_writes(conn: sa.Connection, _cursor: Any, statement: str, *_: Any) -> None:
    if not only_reads(statement):
        conn.info[WROTE] = True


def _commit_if_read_only(conn: sa.Connection) -> None:
    """Before SQLAlchemy rolls back a transaction that only read, commit it: the ROLLBACK that
    follows then finds no transaction, sends nothing, and psycopg keeps its statements."""
    if conn.info.pop(WROTE, False) or conn.invalidated or conn.closed:
        return
    dbapi: Any = conn.connection.dbapi_connection  # a psycopg.Connection, if PostgreSQL
    if not isinstance(dbapi, psycopg.Connection):
        return
    if dbapi.info.transaction_status != psycopg.pq.TransactionStatus.INTRANS:
        return  # no transaction, or a failed one: ROLLBACK it is
    try:
        dbapi.commit()
    except psycopg.Error:
        pass  # a broken connection: the ROLLBACK that follows fails too, and SQLAlchemy handles it
