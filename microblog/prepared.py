"""PostgreSQL: a page's reads run outside a transaction, its statements stay prepared and each
is planned once.

A page that only reads sent BEGIN and COMMIT around its two or three statements, and a ping
before them: five round trips where three do. So a connection reads in autocommit and opens a
transaction only for the first statement that writes (or locks), which then holds everything
after it until COMMIT or ROLLBACK. What a read sees is the same either way: READ COMMITTED,
PostgreSQL's default (the app sets no other), takes a new snapshot for every statement, in a
transaction or not. A SELECT that writes through a function it calls would be missed: the app
has none.

psycopg prepares a statement on its connection once it has run it five times, and PostgreSQL
then parses it once and plans it once (a generic plan) instead of on every request: about half
of what a page costs the database (measured at 10k posts: the home page 3.5 -> 1.5 ms of backend
CPU, a thread 2.4 -> 0.8). But psycopg forgets its prepared statements on every ROLLBACK, and
every request's session ends with one: with no transaction open, it sends none. PostgreSQL
keeps planning anew each time a statement whose generic plan it estimates a little dearer than
a plan for the values in hand: the tag page's, whose plans differ in nothing but that
estimate, planned in 0.6 ms to run in 0.3. The pages' statements are written to be planned
once (a page's LIMIT and search terms written in, never bound), so the app's connections always
take the generic plan.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import psycopg
import sqlalchemy as sa

READING = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)
# Words that make a SELECT write or lock something (a data-modifying CTE, SELECT ... INTO, a
# sequence, FOR UPDATE or SHARE, an advisory lock): such a statement runs in a transaction.
WRITING = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|INTO|CREATE|ALTER|DROP|TRUNCATE|NEXTVAL|SETVAL|LOCK|SHARE)\b"
    r"|\bPG_ADVISORY",
    re.IGNORECASE,
)
IDLE = psycopg.pq.TransactionStatus.IDLE
READING_ONLY = "microblog_reading"  # in the connection's info: reading in autocommit, by us


def init_app(engine: sa.Engine) -> None:
    """Have this PostgreSQL engine's transactions read in autocommit until they write, and its
    prepared statements planned once."""
    sa.event.listen(engine, "connect", _plan_once, insert=True)
    sa.event.listen(engine, "begin", _read_without_transaction)
    sa.event.listen(engine, "before_cursor_execute", _transaction_for_writes)
    sa.event.listen(engine, "checkin", _as_psycopg_left_it)


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


def _read_without_transaction(conn: sa.Connection) -> None:
    """SQLAlchemy begins (psycopg sends nothing yet): send no BEGIN before reads either. A
    connection already in autocommit (isolation_level="AUTOCOMMIT": VACUUM) is left so."""
    dbapi = idle_connection(conn.connection.dbapi_connection)
    if dbapi is not None and not dbapi.autocommit:
        dbapi.autocommit = True  # a local setting: no round trip
        conn.info[READING_ONLY] = True


def _transaction_for_writes(conn: sa.Connection, _cursor: Any, statement: str, *_: Any) -> None:
    """Before the first statement that writes, leave autocommit: psycopg sends BEGIN first."""
    if conn.info.get(READING_ONLY) and not only_reads(statement):
        del conn.info[READING_ONLY]
        dbapi = idle_connection(conn.connection.dbapi_connection)
        if dbapi is not None:
            dbapi.autocommit = False


def _as_psycopg_left_it(dbapi_connection: Any, record: Any) -> None:
    """Back in the pool, out of autocommit again: raw_connection() users get psycopg's way."""
    if record.info.pop(READING_ONLY, False) and idle_connection(dbapi_connection) is not None:
        dbapi_connection.autocommit = False


def idle_connection(dbapi: Any) -> psycopg.Connection[Any] | None:
    """The psycopg connection, if it is open and idle (no transaction): one that can change its
    autocommit now, or that liveness.py may take as alive."""
    if not isinstance(dbapi, psycopg.Connection) or dbapi.closed or dbapi.broken:
        return None
    return dbapi if dbapi.info.transaction_status == IDLE else None
