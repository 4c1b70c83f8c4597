"""Moderation's tables: reports, the operators named in the database, and the audit log."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from ..models import User, UTCDateTime, utcnow

REASON_MAX = 500


class Report(Model):
    """Someone's report of a post or a person, open until an operator acts on it."""

    __table_args__ = (
        sa.Index("ix_report_resolved_at_created_at", "resolved_at", "created_at", "id"),
        sa.Index("ix_report_reporter_id", "reporter_id"),
        sa.Index("ix_report_user_id", "user_id"),
        sa.Index("ix_report_post_id", "post_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    # Whom it is about: the profile's owner, or the post's author.
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(sa.ForeignKey("post.id", ondelete="SET NULL"))
    # A copy of the post's text when reported: the author may edit or delete it meanwhile.
    post_body: Mapped[str | None] = mapped_column(sa.Text)
    reason: Mapped[str] = mapped_column(sa.String(REASON_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(sa.String(16))  # dismissed, deleted, ...

    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class Operator(Model):
    """Someone made an operator with `flask admin add` (MICROBLOG_ADMINS names others)."""

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Model):
    """One operator action, kept after the people it names are gone (names are copied)."""

    __tablename__ = "audit_entry"
    __table_args__ = (sa.Index("ix_audit_entry_created_at_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None for the command line, which has no signed-in operator.
    admin_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    admin_nickname: Mapped[str] = mapped_column(sa.String(24))
    action: Mapped[str] = mapped_column(sa.String(24))
    target_nickname: Mapped[str] = mapped_column(sa.String(24))
    post_id: Mapped[int | None]  # no foreign key: the post may be deleted by this very action
    report_id: Mapped[int | None]
    detail: Mapped[str] = mapped_column(sa.String(REASON_MAX), default="")
