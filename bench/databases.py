"""Where each size's data lives: a SQLite file, or a PostgreSQL schema of our own."""

from __future__ import annotations

import os
import re
from pathlib import Path

import sqlalchemy as sa

from bench.cpu import Backends
from microblog.config import database_url


class Database:
    """Hand out one fresh, empty database per size; drop each after use and all at the end."""

    def __init__(self, kind: str, work: Path, postgres_url: str) -> None:
        self.kind = kind
        self.work = work
        self.base = database_url(postgres_url)
        self.created: dict[str, str] = {}
        # Names the app's connections, so that bench/cpu.py finds the backends that serve them.
        self.application_name = f"microblog-bench-{os.getpid()}"

    def create(self, label: str) -> str:
        """Return the URL of a new empty database for this size."""
        if self.kind == "sqlite":
            path = self.work / f"bench-{label}.sqlite"
            path.unlink(missing_ok=True)
            self.created[label] = str(path)
            return f"sqlite:///{path}"
        schema = f"microblog_bench_{os.getpid()}_{re.sub(r'[^a-z0-9]', '', label.lower())}"
        self._run(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE', f'CREATE SCHEMA "{schema}"')
        self.created[label] = schema
        separator = "&" if "?" in self.base else "?"
        # Every connection of the app, the migrations and gunicorn sees only this schema.
        return (
            f"{self.base}{separator}options=-csearch_path%3D{schema}"
            f"&application_name={self.application_name}"
        )

    def backends(self) -> Backends | None:
        """The PostgreSQL backends serving the app's connections (None on SQLite)."""
        return None if self.kind == "sqlite" else Backends(self.base, self.application_name)

    def drop(self, label: str) -> None:
        name = self.created.pop(label, None)
        if name is None:
            return
        if self.kind == "sqlite":
            Path(name).unlink(missing_ok=True)
        else:
            self._run(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    def drop_url(self, url: str) -> None:
        """Drop a database that create() made in an earlier run, by the URL it returned."""
        if self.kind == "sqlite":
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
            return
        schema = re.search(r"search_path%3D(\w+)", url)
        if schema is None:
            raise ValueError(f"not a URL of Database.create: {url}")
        self._run(f'DROP SCHEMA IF EXISTS "{schema.group(1)}" CASCADE')

    def cleanup(self) -> None:
        for label in list(self.created):
            self.drop(label)

    def _run(self, *statements: str) -> None:
        engine = sa.create_engine(self.base)
        try:
            with engine.begin() as conn:
                for statement in statements:
                    conn.exec_driver_sql(statement)
        finally:
            engine.dispose()


def vacuum_own_tables(engine: sa.Engine) -> None:
    """VACUUM ANALYZE the tables of the engine's schema (its search_path) after a bulk load, as
    autovacuum would a minute later: the planner sees the data and index-only scans have a
    visibility map. Only ours: a bare VACUUM would take every schema of the database, another
    run's or a test's among them, and wait on their locks."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        tables = conn.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
        names = ", ".join(f'"{name}"' for name in tables)
        if names:
            conn.exec_driver_sql(f"VACUUM ANALYZE {names}")
