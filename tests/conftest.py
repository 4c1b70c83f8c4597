"""Fixtures: an app per test on a migrated database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path

import jinja2
import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from microblog import create_app
from microblog.extensions import db
from microblog.models import User

from .helpers import base_config, need, postgres

pytest_plugins = ["microblog.testing"]


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_without_fsync(dbapi_connection: object, _record: object) -> None:
    """Tests need no durability: an SQLite commit that waits for no fsync is ~20x faster."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


class TemplateCache(jinja2.BytecodeCache):
    """Compiled templates shared by the apps of a run (one app per test would compile each
    template again for every test); a template whose source changes compiles anew."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = TemplateCache()


def pytest_report_header() -> str:
    url, how = postgres()
    return f"postgresql: {url} ({how})" if url else f"postgresql: not used: {how}"


def migrate_to(url: str) -> None:
    """Build a schema the way operators do: by applying every migration."""
    app = create_app(base_config(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.sqlite"
    migrate_to(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_schema_url() -> str:
    """A migrated schema of its own in the test PostgreSQL database, dropped at the end."""
    server_url, how = postgres()
    need(server_url is not None, how)
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        need(False, f"PostgreSQL at {server_url} ({how}) is unreachable: {exc.orig}")
    sep = "&" if "?" in server_url else "?"
    # Tests need no durability: a commit that does not wait for the WAL on disk is ~10x faster.
    url = f"{server_url}{sep}options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"
    try:
        migrate_to(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database for one test."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_schema_url")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            empty_schema(conn)
    finally:
        engine.dispose()
    return url


# Every table but alembic_version emptied and every sequence restarted, as TRUNCATE ... RESTART
# IDENTITY CASCADE would, in ~15 ms instead of ~340 ms (TRUNCATE makes new files for all 19
# tables, each test). The replica role skips the foreign-key checks, so any order will do.
EMPTY_SCHEMA = """
DO $$
DECLARE name text;
BEGIN
  SET LOCAL session_replication_role = replica;
  FOR name IN SELECT tablename FROM pg_tables
              WHERE schemaname = current_schema() AND tablename <> 'alembic_version' LOOP
    EXECUTE format('DELETE FROM %I', name);
  END LOOP;
  FOR name IN SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() LOOP
    EXECUTE format('ALTER SEQUENCE %I RESTART', name);
  END LOOP;
END $$
"""


def empty_schema(conn: sa.Connection) -> None:
    """Leave the test schema as migrated: no rows, ids from 1 again."""
    try:
        with conn.begin_nested():
            conn.execute(sa.text(EMPTY_SCHEMA))
        return
    except sa.exc.ProgrammingError:  # not a superuser: no replica role, so the slow way
        pass
    tables = [
        t
        for t in conn.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
        if t != "alembic_version"
    ]
    if tables:
        names = ", ".join(f'"{t}"' for t in tables)
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="module")
def idp():
    """oidc-provider-mock on a loopback port: an OpenID provider we did not write."""
    from . import live

    with live.run_mock_idp() as idp:
        yield idp


@pytest.fixture(scope="module")
def server():
    """A threaded HTTP server on loopback; a test puts its app in `server.app`."""
    from . import live

    with live.LiveServer() as server:
        yield server


@pytest.fixture
def app_config(database_url: str) -> dict[str, object]:
    """Settings for the `app` fixture; a test module may override this fixture."""
    return base_config(database_url)


@pytest.fixture
def app(app_config: dict[str, object]):
    from microblog.testing import IsolatedClient

    app = create_app(app_config)
    app.test_client_class = IsolatedClient
    app.jinja_env.bytecode_cache = TEMPLATES
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Create a user directly in the database (for tests about pages, not about sign-in)."""
    counter = iter(range(1, 10_000))

    def make(nickname: str | None = None, email: str | None = None, **fields: object) -> User:
        n = next(counter)
        user = User(
            nickname=nickname or f"user{n}", email=email or f"user{n}@example.org", **fields
        )
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def statements(app):
    """The SQL statements the app sends from now on, in order (for fixed-count checks)."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", record)
