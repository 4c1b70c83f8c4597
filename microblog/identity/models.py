"""Identity's tables: who a person is at each provider, sign-ins on their way, and done."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from ..models import User, UTCDateTime, utcnow


class Identity(Model):
    """One account at one provider; the provider's subject is the stable key, not the email."""

    __table_args__ = (sa.UniqueConstraint("provider", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(sa.String(64))
    subject: Mapped[str] = mapped_column(sa.String(255))
    # The address the provider vouched for (verified) at the last sign-in, else None: only
    # an address some identity still vouches for may join a new provider to the account.
    email: Mapped[str | None] = mapped_column(sa.String(320), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="identities")


class SignIn(Model):
    """A completed sign-in, listed in Settings so a person can spot one that was not theirs."""

    __tablename__ = "sign_in"
    __table_args__ = (sa.Index("ix_sign_in_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(sa.String(64))
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SignInAttempt(Model):
    """A sign-in on its way through a provider: the browser's choices and the PKCE secrets.

    Kept here rather than in the session cookie, so that the cookie stays small however long
    `next` is; the browser holds only the `state`, whose hash is the key.
    """

    __tablename__ = "sign_in_attempt"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(64))
    remember: Mapped[bool] = mapped_column(default=False)
    next_url: Mapped[str | None] = mapped_column(sa.Text)
    link_to: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(sa.Text)
    code_verifier: Mapped[str] = mapped_column(sa.String(128))
    nonce: Mapped[str | None] = mapped_column(sa.String(128))
    merge: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class UserSession(Model):
    """One signed-in browser: its cookies name this row, so ending it ends them everywhere."""

    __tablename__ = "user_session"
    __table_args__ = (sa.Index("ix_user_session_provider_subject", "provider", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the random secret the cookies carry: a database dump signs no one in.
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    provider: Mapped[str] = mapped_column(sa.String(64))
    subject: Mapped[str] = mapped_column(sa.String(255))
    # The provider's session id (ID token `sid`), for its back-channel logout.
    sid: Mapped[str | None] = mapped_column(sa.String(255))
    # Kept only where signing out at the provider may need it (RP-Initiated Logout's hint).
    id_token: Mapped[str | None] = mapped_column(sa.Text)
    device: Mapped[str] = mapped_column(sa.String(64), default="")
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class SeenLogoutToken(Model):
    """A back-channel logout token's `jti`, kept until the token expires, so none is replayed."""

    __tablename__ = "seen_logout_token"

    provider: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    jti: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
