"""What operators do: who they are, reports, suspending and restoring, and the audit log.

Request-free, like social's queries: the views and the command line both call these.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from .. import identity
from ..extensions import db
from ..models import User, utcnow
from ..social import posting
from ..social.models import Post
from .models import AuditEntry, Operator, Report

QUEUE_SIZE = 50
AUDIT_SIZE = 100
USERS_SIZE = 50
COMMAND_LINE = "(command line)"


def is_admin(user: User) -> bool:
    """Whether user is an operator: named in MICROBLOG_ADMINS, or added with `flask admin add`."""
    named = current_app.config["ADMINS"]
    if user.nickname in named or (user.email is not None and user.email.lower() in named):
        return True
    return db.session.get(Operator, user.id) is not None


def audit(admin: User | None, action: str, target: User | None, **fields: object) -> None:
    """Write one operator action to the audit log (not committed: it joins the action's)."""
    db.session.add(
        AuditEntry(
            admin_id=admin and admin.id,
            admin_nickname=admin.nickname if admin else COMMAND_LINE,
            action=action,
            target_nickname=target.nickname if target else "",
            **fields,
        )
    )


def report(reporter: User, user: User, reason: str, post: Post | None = None) -> Report:
    """File a report about a person or one of their posts, committed."""
    filed = Report(reporter_id=reporter.id, user_id=user.id, reason=reason)
    if post is not None:
        filed.post_id, filed.post_body = post.id, post.body
    db.session.add(filed)
    db.session.commit()
    return filed


def open_reports() -> Sequence[Report]:
    """The queue: open reports, oldest first, with reporter and reported person."""
    query = (
        sa.select(Report)
        .where(Report.resolved_at.is_(None))
        .options(joinedload(Report.reporter), joinedload(Report.user))
        .order_by(Report.created_at, Report.id)
        .limit(QUEUE_SIZE)
    )
    return db.session.scalars(query).all()


def _resolve(where: sa.ColumnElement[bool], resolution: str) -> None:
    db.session.execute(
        sa.update(Report)
        .where(where, Report.resolved_at.is_(None))
        .values(resolved_at=utcnow(), resolution=resolution)
        .execution_options(synchronize_session=False)
    )


def dismiss(admin: User, filed: Report) -> None:
    """Close a report with nothing done, committed."""
    _resolve(Report.id == filed.id, "dismissed")
    audit(admin, "dismiss report", filed.user, report_id=filed.id, detail=filed.reason)
    db.session.commit()


def delete_post(admin: User, post: Post, filed: Report | None = None) -> None:
    """Delete a reported post (its replies stay) and close its reports, committed."""
    author = post.author
    _resolve(Report.post_id == post.id, "deleted")
    audit(admin, "delete post", author, post_id=post.id, report_id=filed and filed.id,
          detail=post.body[:500])  # fmt: skip
    posting.delete(post)  # commits


def suspend(admin: User | None, user: User, filed: Report | None = None) -> None:
    """Suspend someone: their sessions end, their posts go from every page. Committed."""
    user.suspended_at = utcnow()
    identity.end_sessions_of(user)  # every session and remember cookie stops working
    _resolve(Report.user_id == user.id, "suspended")
    audit(admin, "suspend", user, report_id=filed and filed.id)
    db.session.commit()


def restore(admin: User | None, user: User) -> None:
    """Lift a suspension: they can sign in again and their posts come back. Committed."""
    user.suspended_at = None
    audit(admin, "restore", user)
    db.session.commit()


def load_users(unsafe_query: str) -> Sequence[User]:
    """Newest people first, or those whose nickname starts with the query."""
    query = sa.select(User).order_by(User.created_at.desc(), User.id.desc()).limit(USERS_SIZE)
    prefix = "".join(c for c in unsafe_query.strip().lower() if c.isalnum() or c == "_")[:24]
    if prefix:
        query = query.where(User.nickname.startswith(prefix, autoescape=True))
    return db.session.scalars(query).all()


def load_audit() -> Sequence[AuditEntry]:
    """The latest operator actions, newest first."""
    query = sa.select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    return db.session.scalars(query.limit(AUDIT_SIZE)).all()


def add_operator(user: User) -> bool:
    """Make someone an operator from the command line; say whether they were not one yet."""
    if db.session.get(Operator, user.id) is not None:
        return False
    db.session.add(Operator(user_id=user.id))
    audit(None, "add operator", user)
    db.session.commit()
    return True


def remove_operator(user: User) -> bool:
    """Stop someone being an operator (MICROBLOG_ADMINS still names whom it names)."""
    operator = db.session.get(Operator, user.id)
    if operator is None:
        return False
    db.session.delete(operator)
    audit(None, "remove operator", user)
    db.session.commit()
    return True
