"""Signing out at the provider too (OpenID Connect RP-Initiated Logout 1.0).

The session record keeps the sign-in's ID token only when it may be needed here: the provider
publishes an `end_session_endpoint` and its `sign_out_at_provider` is not "never". The browser
goes there with the token as `id_token_hint` and a fresh `state`; only that state coming back
to /auth/<name>/signed-out counts as the provider's confirmation.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import requests
from authlib.integrations.base_client import OAuthError
from flask import redirect, session, url_for
from werkzeug.wrappers import Response

from .models import UserSession
from .profiles import ProviderError
from .providers import OIDC, Provider
from .registry import get_client, get_provider
from .urls import url_problem

log = logging.getLogger(__name__)
PENDING_KEY = "rp_logout"
PENDING_TTL = 600  # seconds a person may spend at the provider's sign-out page


def end_session_endpoint(provider: Provider) -> str | None:
    """The provider's end_session_endpoint, if it has one and we may send people there."""
    if provider.kind != OIDC or provider.sign_out_at_provider == "never":
        return None
    try:
        metadata = get_client(provider.name).load_server_metadata()
    except (OAuthError, requests.RequestException, ProviderError) as exc:
        log.warning("discovery for %s failed: %s", provider.name, type(exc).__name__)
        return None
    url = metadata.get("end_session_endpoint")
    if not isinstance(url, str) or url_problem(url):
        return None
    return url


def kept(provider: Provider, token: dict[str, Any]) -> dict[str, str | None]:
    """What the session record keeps of the sign-in's tokens: the provider's session id, and
    the ID token only if signing out at the provider may need it."""
    claims = token.get("userinfo") or {}
    sid = claims.get("sid")
    id_token = token.get("id_token") if end_session_endpoint(provider) else None
    return {
        "sid": sid if isinstance(sid, str) and sid else None,
        "id_token": id_token if isinstance(id_token, str) else None,
    }


def offer(record: UserSession | None) -> Provider | None:
    """The provider this browser's session could also sign out of, or None."""
    if record is None or not record.id_token:
        return None
    provider = get_provider(record.provider)
    if provider is None or end_session_endpoint(provider) is None:
        return None
    return provider


def wanted(record: UserSession | None, asked: bool) -> tuple[Provider, str] | None:
    """The provider and ID token to sign out with, if its setting or the person says so."""
    provider = offer(record)
    if provider is None or record is None or record.id_token is None:
        return None
    if provider.sign_out_at_provider == "always" or asked:
        return provider, record.id_token
    return None


def redirect_to_provider(provider: Provider, id_token: str, message: str) -> Response:
    """Send the browser to the provider's sign-out, to come back with a fresh state; the
    message about our own sign-out waits for its return."""
    endpoint = end_session_endpoint(provider)
    if endpoint is None:  # the provider stopped publishing it since the page was shown
        return redirect(url_for("auth.login"))
    state = secrets.token_urlsafe(16)
    session[PENDING_KEY] = {
        "provider": provider.name,
        "state": state,
        "at": time.time(),
        "message": message,
    }
    params = {
        "id_token_hint": id_token,
        "client_id": provider.client_id,
        "post_logout_redirect_uri": url_for("auth.signed_out", name=provider.name, _external=True),
        "state": state,
    }
    separator = "&" if "?" in endpoint else "?"
    response = redirect(f"{endpoint}{separator}{urlencode(params)}")
    # The URL carries the ID token: never let it leak in a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def returned(provider: Provider, unsafe_state: str | None) -> tuple[str, str]:
    """The message (and its category) for a browser back from the provider's sign-out."""
    pending = session.get(PENDING_KEY)
    # Only a browser that signed out here has a message about it; a visitor following a link
    # to this page is told nothing about a sign-out that did not happen.
    here = pending.get("message") if isinstance(pending, dict) else None
    if confirmed(provider.name, unsafe_state):
        there, category = f"You are signed out of {provider.title} too.", "success"
    else:
        there, category = f"{provider.title} did not confirm that you are signed out there.", "info"
    return (f"{here} {there}" if isinstance(here, str) else there), category


def confirmed(name: str, unsafe_state: str | None) -> bool:
    """True if the provider came back with the state this browser was sent with (single use)."""
    pending = session.pop(PENDING_KEY, None)
    if not isinstance(pending, dict) or not unsafe_state or pending.get("provider") != name:
        return False
    if pending.get("at", 0) < time.time() - PENDING_TTL:
        return False
    return hmac.compare_digest(str(pending.get("state", "")), unsafe_state)
