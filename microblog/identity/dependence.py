"""Who depends on which provider: for operators deciding to change or remove one."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..extensions import db
from .models import Identity
from .registry import all_providers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dependence:
    """How many accounts rely on each provider, and what removed providers left behind."""

    only_with: dict[str, int]  # configured provider: accounts that can sign in only with it
    removed: dict[str, int]  # provider gone from the file: accounts that can no longer sign in


def provider_dependence() -> Dependence | None:
    """Count who depends on each provider in the file; None if the database cannot say."""
    try:
        return load_dependence([p.name for p in all_providers()])
    except sa.exc.SQLAlchemyError as exc:  # not migrated yet, or not reachable
        db.session.rollback()
        log.warning("cannot count accounts per provider: %s", type(exc).__name__)
        return None


def load_dependence(configured: list[str]) -> Dependence:
    """Count, in two statements, the accounts that depend on one provider or on none left."""
    other = aliased(Identity)
    accounts = sa.func.count(sa.distinct(Identity.user_id))
    # Another identity of the same account, at another provider still in the file.
    elsewhere = (
        sa.select(other.id)
        .where(other.user_id == Identity.user_id, other.provider.in_(configured))
        .where(other.provider != Identity.provider)
        .exists()
    )
    only_with = db.session.execute(
        sa.select(Identity.provider, accounts)
        .where(Identity.provider.in_(configured), ~elsewhere)
        .group_by(Identity.provider)
    ).all()
    # For a removed provider, "another provider still in the file" is any configured one;
    # an account with identities at two removed providers is counted under each of them.
    removed = db.session.execute(
        sa.select(
            Identity.provider, sa.func.count(sa.distinct(Identity.user_id)).filter(~elsewhere)
        )
        .where(Identity.provider.not_in(configured))
        .group_by(Identity.provider)
        .order_by(Identity.provider)
    ).all()
    return Dependence(
        only_with={name: n for name, n in only_with}, removed={name: n for name, n in removed}
    )
