"""PostgreSQL: a pooled connection's pre-ping asks its socket, not the server; a connection the
server ended is still found out and replaced before a request uses it."""

import time

import psycopg
import pytest
import sqlalchemy as sa

from microblog import liveness
from microblog.extensions import db

from .helpers import postgres

# PostgreSQL only: SQLite's connections are not pinged (a file cannot hang up).
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def pg_app(app):
    assert db.engine.dialect.name == "postgresql"
    db.session.remove()  # the test's own session holds no connection: the pool has one
    return app


@pytest.fixture
def server_pings(monkeypatch):
    """Count the pings that go to the server: the dialect's own, which liveness falls back on."""
    calls: list[bool] = []
    dialect_class = type(db.engine.dialect)
    dialect_ping = dialect_class.do_ping

    def counted(self, dbapi_connection):
        calls.append(True)
        return dialect_ping(self, dbapi_connection)

    monkeypatch.setattr(dialect_class, "do_ping", counted)
    return calls


def pooled_backend() -> int:
    """The server process behind the pool's (only) connection."""
    with db.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()


def admin() -> psycopg.Connection:
    """A connection of the test's own to the same server, outside the app's pool."""
    url, _ = postgres()
    assert url is not None
    libpq = sa.engine.make_url(url).set(drivername="postgresql")
    return psycopg.connect(libpq.render_as_string(hide_password=False), autocommit=True)


def test_a_page_on_a_pooled_connection_sends_no_ping(pg_app, client, server_pings, monkeypatch):
    asked: list[bool] = []
    socket_check = liveness.quiet
    monkeypatch.setattr(liveness, "quiet", lambda c: asked.append(socket_check(c)) or asked[-1])
    assert client.get("/explore").status_code == 200  # a fresh connection: no ping at all
    for _ in range(3):
        assert client.get("/explore").status_code == 200
    assert asked == [True, True, True]  # each check-out asked the socket: nothing to read
    assert server_pings == []  # so no round trip went to the server before the page's own


def test_a_connection_the_server_ended_is_replaced_before_a_page_uses_it(
    pg_app, client, server_pings
):
    assert client.get("/explore").status_code == 200
    before = pooled_backend()
    with admin() as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", [before]).fetchone() == (True,)
        deadline = time.monotonic() + 10
        while conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [before]).fetchone():
            assert time.monotonic() < deadline, "the backend did not end"
            time.sleep(0.02)
    assert client.get("/explore").status_code == 200  # not a 503: the pool reconnected first
    assert server_pings == [True]  # the socket had the server's goodbye: a real ping, failed
    assert pooled_backend() != before


def test_a_notice_on_the_socket_gets_a_real_ping_and_keeps_the_connection(pg_app, server_pings):
    with db.engine.connect() as conn:
        backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        conn.exec_driver_sql("LISTEN microblog_liveness_test")
        conn.commit()
        raw = conn.connection.dbapi_connection  # back in the pool after the block, as it is
    with admin() as other:
        other.execute("NOTIFY microblog_liveness_test")
    deadline = time.monotonic() + 10
    while liveness.quiet(raw):  # the notification is on its way to the pooled connection
        assert time.monotonic() < deadline, "the notification never arrived"
        time.sleep(0.02)
    assert pooled_backend() == backend  # the same connection, kept
    assert server_pings == [True]  # because the server answered the real ping
