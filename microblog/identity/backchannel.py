"""OpenID Connect Back-Channel Logout 1.0: the provider ends our sessions, server to server.

A logout token is checked as section 2.6 says (and Authlib does not do), then its `jti` is
stored until the token could no longer pass the `iat` check, so that no server of ours takes
the same token twice, and the matching session records go in the same transaction.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any, cast

import requests
import sqlalchemy as sa
from flask import current_app
from joserfc import jws, jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet, KeySetSerialization
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import utcnow
from .client import KEY_HEADERS
from .models import SeenLogoutToken, UserSession
from .profiles import ProviderError
from .providers import Provider
from .registry import get_client

log = logging.getLogger(__name__)
EVENT = "http://schemas.openid.net/event/backchannel-logout"
# A token issued longer ago than this is refused, so a seen jti need not be kept for longer.
MAX_AGE = 300


class Refused(Exception):
    """The logout token is not one we take: the provider gets a 400, no session ends."""


def log_out(provider: Provider, raw: str) -> int:
    """Verify a logout token from provider and end the sessions it names; return how many."""
    claims = verify(provider, raw)
    now = utcnow()
    # Past this, the token fails the iat check anyway: its jti need not be kept any longer.
    keep_until = claims["iat"] + MAX_AGE + _skew() + 1
    db.session.execute(sa.delete(SeenLogoutToken).where(SeenLogoutToken.expires_at < now))
    db.session.add(
        SeenLogoutToken(
            provider=provider.name,
            jti=claims["jti"],
            expires_at=datetime.fromtimestamp(keep_until, UTC),
        )
    )
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Refused("logout token jti was already used") from None
    ended = db.session.execute(sa.delete(UserSession).where(*_matching(provider, claims)))
    db.session.commit()
    count: int = cast(sa.CursorResult[Any], ended).rowcount
    log.info("back-channel logout from %s ended %d session(s)", provider.name, count)
    return count


def verify(provider: Provider, raw: str) -> dict[str, Any]:
    """Return the claims of a valid logout token from provider, or raise Refused."""
    try:
        header = jws.extract_compact(raw.encode()).protected
    except (ValueError, AttributeError, JoseError):
        raise Refused("logout token is not a compact JWS") from None
    if header.get("alg") not in provider.algorithms:
        raise Refused(f"logout token algorithm {header.get('alg')!r} is not allowed")
    if any(h in header for h in KEY_HEADERS):
        raise Refused("logout token header carries its own key")
    try:
        claims = _decode(provider, raw)
    except (JoseError, ProviderError, ValueError, requests.RequestException) as exc:
        # ValueError: a malformed payload; RequestException: the provider's keys are not there.
        raise Refused(f"logout token not verified: {type(exc).__name__}") from None
    check_claims(provider, claims, _skew())
    return claims


def check_claims(provider: Provider, claims: dict[str, Any], skew: float) -> None:
    """Apply Back-Channel Logout 1.0 section 2.6, steps 3 to 6, to decoded claims."""
    now = time.time()
    if claims.get("iss") not in provider.accepted_issuers:
        raise Refused(f"logout token iss {claims.get('iss')!r} is not the provider's issuer")
    aud = claims.get("aud")
    if provider.client_id not in ([aud] if isinstance(aud, str) else aud or []):
        raise Refused("logout token aud does not contain our client id")
    iat: Any = claims.get("iat")
    if not _is_number(iat) or not now - MAX_AGE - skew <= iat <= now + skew:
        raise Refused("logout token iat is missing or too far from now")
    if "exp" in claims and (not _is_number(claims["exp"]) or claims["exp"] < now - skew):
        raise Refused("logout token has expired")
    if not isinstance(claims.get("jti"), str) or not claims["jti"] or len(claims["jti"]) > 255:
        raise Refused("logout token has no jti")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(EVENT), dict):
        raise Refused("logout token events lack the back-channel logout event")
    if "nonce" in claims:
        raise Refused("logout token carries a nonce")
    named = [claims[k] for k in ("sub", "sid") if claims.get(k) is not None]
    if not named or not all(_is_text(v) for v in named):
        raise Refused("logout token names neither a sub nor a sid")


def _matching(provider: Provider, claims: dict[str, Any]) -> list[sa.ColumnElement[bool]]:
    """Which records end: by sid if given (and sub, if also given), else the identity's all."""
    where = [UserSession.provider == provider.name]
    if claims.get("sid"):
        where.append(UserSession.sid == claims["sid"])
    if claims.get("sub"):
        where.append(UserSession.subject == claims["sub"])
    return where


def _decode(provider: Provider, raw: str) -> dict[str, Any]:
    client = get_client(provider.name)
    algorithms = list(provider.algorithms)
    keys = KeySet.import_key_set(cast(KeySetSerialization, client.fetch_jwk_set()))
    try:
        decoded = jwt.decode(raw, keys, algorithms=algorithms)
    except InvalidKeyIdError:  # the provider rotated its keys since we fetched them
        keys = KeySet.import_key_set(cast(KeySetSerialization, client.fetch_jwk_set(force=True)))
        decoded = jwt.decode(raw, keys, algorithms=algorithms)
    return dict(decoded.claims)


def _skew() -> float:
    skew: float = current_app.config["OIDC_CLOCK_SKEW"]
    return skew


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 255
