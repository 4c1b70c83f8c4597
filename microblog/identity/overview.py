"""What Settings shows of a person's sign-in: linked providers, ones to add, recent sign-ins."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import User
from .models import Identity, SignIn
from .registry import all_providers, provider_title

RECENT_SIGN_INS = 10


def sign_in_methods(user: User) -> dict[str, Any]:
    """Return the template values for the ways user signs in and their recent sign-ins."""
    identities = db.session.scalars(sa.select(Identity).where(Identity.user_id == user.id)).all()
    linked = {i.provider for i in identities}
    recent = db.session.scalars(
        sa.select(SignIn).where(SignIn.user_id == user.id)
        .order_by(SignIn.created_at.desc()).limit(RECENT_SIGN_INS)
    )  # fmt: skip
    return {
        "identities": [(provider_title(i.provider), i) for i in identities],
        # The addresses a provider vouches for today: the only ones that join a new provider.
        "linking_emails": sorted({i.email for i in identities if i.email}),
        "linkable": [p for p in all_providers() if p.ready and p.name not in linked],
        "sign_ins": [(provider_title(s.provider), s) for s in recent],
    }
