"""Shared database types and the User, whom both identity and social build on."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Flask
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import liveness, prepared
from .extensions import Model, db
from .logs import EMAIL

if TYPE_CHECKING:
    from .identity.models import Identity


def utcnow() -> datetime:
    """Now, timezone-aware UTC: the callable default of every timestamp column."""
    return datetime.now(UTC)


STORED_LENGTHS = (19, 26)  # SQLite's text of a datetime: to the second, or the microsecond


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores it naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    def result_processor(self, dialect: sa.Dialect, coltype: object) -> Callable[[Any], Any] | None:
        """On SQLite, read the text SQLAlchemy stores ("2026-12-01 10:00:00.123456", or without
        the fraction) as UTC in one call of the C parser: nine times quicker than the generic
        way, which any other text takes, and a page reads a hundred of them."""
        if dialect.name == "postgresql":
            # psycopg reads a timestamptz as an aware datetime already: nothing to add per value.
            return self.impl_instance.result_processor(dialect, coltype)
        generic = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or generic is None:
            return generic
        parse = datetime.fromisoformat

        def process(value: Any) -> Any:
            if value is None:
                return None
            if isinstance(value, str) and len(value) in STORED_LENGTHS and value[10] == " ":
                try:
                    return parse(value + "+00:00")
                except ValueError:
                    pass
            return generic(value)

        return process


class User(UserMixin, Model):
    # SQLite would otherwise give a deleted account's id to the next one (PostgreSQL's
    # sequences never reuse a value): ids are never reused, on either.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    # Always lowercase a-z, 0-9 and _ (nicknames.NICKNAME_RE), so uniqueness is case-insensitive.
    nickname: Mapped[str] = mapped_column(sa.String(24), unique=True)
    # The verified email that created the account (ASCII letters lowercased). Unique, so that
    # two simultaneous first sign-ins cannot create two accounts; None once a newer account
    # was created with it after no identity of this one vouched for it any more. What links
    # an account is Identity.email, not this.
    email: Mapped[str | None] = mapped_column(sa.String(320), unique=True)
    # Shown beside the nickname: the provider's name at sign-up, then whatever they choose.
    display_name: Mapped[str] = mapped_column(sa.String(50), default="", server_default="")
    about: Mapped[str] = mapped_column(sa.String(280), default="")
    picture: Mapped[str | None] = mapped_column(sa.String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by an operator (moderation): nobody sees their posts, and they cannot sign in.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    identities: Mapped[list[Identity]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def cookie_id(self) -> str | None:
        """Not a column: the id Flask-Login keeps in this browser's cookies, "<session record
        id>:<secret>", set by identity.sessions when it starts or loads the session record."""
        value: str | None = self.__dict__.get("_cookie_id")
        return value

    @cookie_id.setter
    def cookie_id(self, value: str) -> None:
        self.__dict__["_cookie_id"] = value

    def get_id(self) -> str:
        """Name this browser's session record, never the user, in the cookies."""
        if self.cookie_id is None:
            raise LookupError("no session record: sign in through identity.sessions.begin")
        return self.cookie_id

    def __repr__(self) -> str:
        return f"<User {self.nickname}>"


def init_app(app: Flask) -> None:
    """Keep SQLite private, as strict as PostgreSQL and its page cache sized; row values out of
    PostgreSQL errors, its reads outside transactions, its statements prepared and its
    connections' pre-ping without a round trip."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        # A locked database waits as long as a PostgreSQL statement may run, then a 503.
        busy_ms = int(app.config["DATABASE_STATEMENT_TIMEOUT"] * 1000)
        cache_kib = int(app.config["SQLITE_CACHE_MIB"] * 1024)
        _create_private(engine.url.database)
        pragmas = functools.partial(_sqlite_pragmas, busy_ms=busy_ms, cache_kib=cache_kib)
        sa.event.listen(engine, "connect", pragmas)
    if engine.dialect.name == "postgresql":
        sa.event.listen(engine, "handle_error", _without_detail)
        prepared.init_app(engine)
        liveness.init_app(engine)


def _create_private(database: str | None) -> None:
    """Create a new SQLite file readable by us alone (it holds emails and IP addresses).

    SQLite gives its journal and WAL files the database file's permissions.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # an existing database keeps the permissions its operator gave it
    except FileNotFoundError:
        pass  # no such folder: SQLite will say so on first use


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, busy_ms: int, cache_kib: int) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms:d}")
    # Negative: a budget in KiB, which SQLite fills only as it reads pages.
    cursor.execute(f"PRAGMA cache_size={-cache_kib:d}")
    cursor.close()


def _without_detail(context: sa.engine.ExceptionContext) -> None:
    """Drop PostgreSQL's DETAIL from its errors: it quotes the row's values (an email)."""
    for error in (context.original_exception, context.sqlalchemy_exception):
        if error is not None and error.args and isinstance(error.args[0], str):
            first_line = EMAIL.sub("[email]", error.args[0].split("\n", 1)[0])
            error.args = (first_line, *error.args[1:])
