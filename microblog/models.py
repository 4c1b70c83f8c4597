"""Shared database types and the User, whom both identity and social build on."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Flask
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import Model, db
from .logs import EMAIL

if TYPE_CHECKING:
    from .identity.models import Identity


def utcnow() -> datetime:
    """Now, timezone-aware UTC: the callable default of every timestamp column."""
    return datetime.now(UTC)


def new_session_token() -> str:
    """A fresh random token; replacing a user's makes their old cookies worthless."""
    return secrets.token_urlsafe(16)


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


class User(UserMixin, Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    # Always lowercase a-z, 0-9 and _ (nicknames.NICKNAME_RE), so uniqueness is case-insensitive.
    nickname: Mapped[str] = mapped_column(sa.String(24), unique=True)
    # The verified email that created the account, lowercased; unique so that two
    # simultaneous first sign-ins cannot create two accounts.
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    # Shown beside the nickname: the provider's name at sign-up, then whatever they choose.
    display_name: Mapped[str] = mapped_column(sa.String(50), default="", server_default="")
    about: Mapped[str] = mapped_column(sa.String(280), default="")
    picture: Mapped[str | None] = mapped_column(sa.String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of the id Flask-Login stores in session and remember cookies: changing it on
    # sign-out makes every cookie captured before it worthless.
    session_token: Mapped[str] = mapped_column(sa.String(32), default=new_session_token)
    # Set by an operator (moderation): nobody sees their posts, and they cannot sign in.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    identities: Mapped[list[Identity]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def __repr__(self) -> str:
        return f"<User {self.nickname}>"


def init_app(app: Flask) -> None:
    """Make SQLite enforce foreign keys and wait for locks, like PostgreSQL; quiet its errors."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    if engine.dialect.name == "postgresql":
        sa.event.listen(engine, "handle_error", _without_detail)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _without_detail(context: sa.engine.ExceptionContext) -> None:
    """Drop PostgreSQL's DETAIL from its errors: it quotes the row's values (an email)."""
    for error in (context.original_exception, context.sqlalchemy_exception):
        if error is not None and error.args and isinstance(error.args[0], str):
            first_line = EMAIL.sub("[email]", error.args[0].split("\n", 1)[0])
            error.args = (first_line, *error.args[1:])
