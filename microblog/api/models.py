"""The API's table: personal access tokens, stored as hashes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from ..models import User, UTCDateTime, utcnow

SCOPES = ("read", "read write")


class ApiToken(Model):
    """A named, revocable token someone made in Settings for a script or an app."""

    __tablename__ = "api_token"
    __table_args__ = (sa.Index("ix_api_token_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(50))
    # SHA-256 of the token, hex: the token itself is shown once and never stored. It is 256
    # random bits, so a fast hash is enough (nothing to guess as with a password).
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scope: Mapped[str] = mapped_column(sa.String(16))  # one of SCOPES
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Written at most every TOKEN_TOUCH_INTERVAL, not on every request.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def can_write(self) -> bool:
        return "write" in self.scope.split()
