"""Signing out at the provider too (OpenID Connect RP-Initiated Logout 1.0)."""

from __future__ import annotations

from typing import Any

from .providers import Provider


def kept(provider: Provider, token: dict[str, Any]) -> dict[str, str | None]:
    """What the session record keeps of the sign-in's tokens: the provider's session id."""
    claims = token.get("userinfo") or {}
    sid = claims.get("sid")
    return {"sid": sid if isinstance(sid, str) and sid else None}
