"""PostgreSQL: a pooled connection is tested on its way out of the pool without a round trip.

The pool's pre-ping (config.engine_options) sent an empty query before every request's first
statement: a round trip of its own, about 60 µs of the worker's CPU and 30 of the server's,
one request in three of a page's. What it is there to catch, a connection the server has
ended (a restart, a failover, an idle timeout, pg_terminate_backend), announces itself: the
server sends its reason and closes, and the end of the stream or the error is waiting on the
socket. A connection cut off in silence (a dead link) shows it too once TCP's keepalives give
up on it (config.engine_options: some seconds of idleness); until then a ping would wait out
the same TCP timeout that the request's own statement waits. So a connection with nothing to
read is taken as alive, and anything waiting to be read (that, or a notice) gets the dialect's
own ping, which fails on a dead one: the pool then replaces its connections, as before.
"""

from __future__ import annotations

import select
from typing import Any

import sqlalchemy as sa

from .prepared import idle_connection


def init_app(engine: sa.Engine) -> None:
    """Have this PostgreSQL engine's pre-ping ask the socket first, the server only if needed."""
    dialect = engine.dialect

    def do_ping(dbapi_connection: Any) -> bool:
        # The dialect class's own ping, an empty query: looked up each time, as a method is.
        return quiet(dbapi_connection) or bool(type(dialect).do_ping(dialect, dbapi_connection))

    dialect.do_ping = do_ping  # type: ignore[method-assign]


def quiet(dbapi_connection: Any) -> bool:
    """Whether a psycopg connection is idle and the server has sent it nothing since."""
    connection = idle_connection(dbapi_connection)
    if connection is None:
        return False
    poller = select.poll()  # not select(): a busy process's descriptors can pass 1024
    poller.register(connection.fileno(), select.POLLIN)
    return not poller.poll(0)  # POLLIN, or POLLHUP / POLLERR, which poll always reports
