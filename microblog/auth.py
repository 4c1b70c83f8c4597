"""Blueprint for signing in and out: the login page, the hand-off, the callback, sign-out."""

from __future__ import annotations

import hmac
import logging
import time
import unicodedata
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from joserfc.errors import JoseError
from werkzeug.urls import iri_to_uri
from werkzeug.wrappers import Response

from . import accounts
from .clients import Profile, ProviderError, SignInError
from .extensions import csrf, db, login_manager
from .models import User, new_session_token
from .providers import Provider, all_providers, get_client, get_provider
from .security import rate_limit

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)

ATTEMPTS_KEY = "signin_attempts"
# Pending sign-ins kept per browser: enough for a few tabs, small enough for a 4 KB cookie.
MAX_PENDING_ATTEMPTS = 5
ATTEMPT_TTL = 600  # seconds a person may spend at the provider
# What the callback catches: everything a provider, its network or its answer can throw.
SIGN_IN_FAILURES = (
    OAuthError,
    requests.RequestException,
    ProviderError,
    SignInError,
    JoseError,
    ValueError,
)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    app.register_blueprint(bp)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Load the user a session or remember cookie names, if its session token is current."""
    raw_id, _, token = user_id.partition(":")
    if not raw_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(raw_id))
    if user is None or not hmac.compare_digest(user.session_token, token):
        return None
    return user


@bp.get("/login")
def login() -> str | Response:
    """Show one sign-in button per ready provider."""
    next_url = safe_next_url(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("views.index"))
    providers = [p for p in all_providers() if p.ready]
    return render_template("auth/login.html", providers=providers, next_url=next_url)


@bp.post("/login/<name>")
@rate_limit("SIGNIN_RATE_LIMIT")
def start(name: str) -> Response:
    """Remember this attempt's choices, then send the browser to the provider.

    A signed-in person who posts `link=1` (from Settings) is adding this provider instead.
    """
    provider = get_provider(name) or abort(404)
    next_url = safe_next_url(request.form.get("next"))
    link_to = (
        current_user.id if current_user.is_authenticated and request.form.get("link") else None
    )
    client = get_client(name)
    redirect_uri = url_for("auth.callback", name=name, _external=True)
    try:
        rv = client.create_authorization_url(redirect_uri)
    except SIGN_IN_FAILURES as exc:  # discovery failed: the provider is down or misconfigured
        return _failed(provider, exc, next_url)
    client.save_authorize_data(redirect_uri=redirect_uri, **rv)
    _remember_attempt(rv["state"], name, bool(request.form.get("remember_me")), next_url, link_to)
    return redirect(rv["url"])


@bp.route("/auth/<name>/callback", methods=["GET", "POST"])
@csrf.exempt  # `state` is this request's CSRF protection
@rate_limit("CALLBACK_RATE_LIMIT")
def callback(name: str) -> Response:
    """Finish the sign-in: verify the provider's answer, find the user, start the session."""
    response = _finish_sign_in(get_provider(name) or abort(404))
    # The callback URL carries the one-time code: never let it leak in a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _finish_sign_in(provider: Provider) -> Response:
    name = provider.name
    state = request.values.get("state", "")
    attempt = _pop_attempt(state, name)
    next_url = attempt["next"] if attempt else None
    try:
        if error := request.values.get("error"):  # before state: a denial may come without one
            raise OAuthError(error=error, description=request.values.get("error_description"))
        if attempt is None:
            raise MismatchingStateError()
        client = get_client(name)
        client.check_response_issuer(request.values.get("iss"))
        token = client.authorize_access_token()
        profile = client.fetch_profile(token)
        if attempt.get("link_to") is not None:
            return _link(provider, profile, attempt["link_to"])
        user = accounts.sign_in(provider, profile, request.remote_addr)
    except SIGN_IN_FAILURES as exc:
        session.pop(f"_state_{name}_{state}", None)
        linking = attempt is not None and attempt.get("link_to") is not None
        return _failed(provider, exc, next_url, back_to="views.settings" if linking else None)
    _renew_session()
    login_user(user, remember=attempt["remember"])
    return redirect(next_url or url_for("views.index"))


def _link(provider: Provider, profile: Profile, user_id: int) -> Response:
    """Finish linking another provider to the signed-in account that asked for it."""
    if not current_user.is_authenticated or current_user.id != user_id:
        raise SignInError("You signed out before linking finished. Sign in and try again.")
    accounts.link(current_user, provider, profile)
    flash(f"{provider.title} is now linked: you can sign in with it too.", "info")
    return redirect(url_for("views.settings"))


@bp.get("/logout")
def confirm_logout() -> str | Response:
    """Ask before signing out: a GET (a link, a prefetch) must never sign anyone out."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return render_template("auth/logout.html")


@bp.post("/logout")
def logout() -> Response:
    """Sign out here and everywhere: every session and remember cookie stops working."""
    if current_user.is_authenticated:
        current_user.session_token = new_session_token()
        db.session.commit()
    session.clear()
    logout_user()  # after clear(): it leaves the note that deletes the remember cookie
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


def safe_next_url(unsafe_next: str | None) -> str | None:
    """Return unsafe_next as it will go on the wire if it is a path on this site, else None."""
    if not unsafe_next or len(unsafe_next) > 2048 or not _plain(unsafe_next):
        return None
    try:
        wire = iri_to_uri(unsafe_next)
        forms = [(form, urlsplit(form)) for form in (unsafe_next, wire, unquote(wire))]
    except ValueError:  # e.g. an unbalanced "[" where a host would be
        return None
    for form, parts in forms:
        if not form.startswith("/") or form.startswith("//") or parts.scheme or parts.netloc:
            return None
        if not _plain(form):
            return None
    return wire


def _plain(text: str) -> bool:
    """True if text has no backslash, whitespace or control character of any script.

    Browsers and Werkzeug drop or rewrite these, which is how "/\\t/evil.com" becomes
    "//evil.com" on the wire.
    """
    return "\\" not in text and not any(unicodedata.category(c)[0] in "CZ" for c in text)


def _renew_session() -> None:
    """Start a fresh session for the signed-in person, keeping only other tabs' pending sign-ins."""
    pending = {k: v for k, v in session.items() if k == ATTEMPTS_KEY or k.startswith("_state_")}
    session.clear()
    session.update(pending)


def _remember_attempt(
    state: str, name: str, remember: bool, next_url: str | None, link_to: int | None
) -> None:
    """Keep this attempt's choices under its state, dropping expired and surplus attempts.

    Authlib keeps its own per-attempt data in the session and never expires it; without
    this, abandoned attempts grow the cookie until browsers drop it.
    """
    now = time.time()
    attempts = {
        s: a for s, a in session.get(ATTEMPTS_KEY, {}).items() if a["at"] > now - ATTEMPT_TTL
    }
    attempts[state] = {
        "provider": name,
        "remember": remember,
        "next": next_url,
        "link_to": link_to,
        "at": now,
    }
    kept = dict(sorted(attempts.items(), key=lambda item: item[1]["at"])[-MAX_PENDING_ATTEMPTS:])
    wanted = {f"_state_{a['provider']}_{s}" for s, a in kept.items()}
    for key in [k for k in session if k.startswith("_state_") and k not in wanted]:
        del session[key]
    session[ATTEMPTS_KEY] = kept


def _pop_attempt(state: str, name: str) -> dict[str, Any] | None:
    attempts = session.get(ATTEMPTS_KEY, {})
    attempt = attempts.pop(state, None) if state else None
    session.modified = True
    if attempt is None or attempt["provider"] != name or attempt["at"] < time.time() - ATTEMPT_TTL:
        return None
    return attempt


def _failed(
    provider: Provider, exc: Exception, next_url: str | None, back_to: str | None = None
) -> Response:
    """Log the technical reason, tell the person what happened, and go back where they were."""
    log.warning("sign-in with %s failed: %s: %s", provider.name, type(exc).__name__, exc)
    flash(failure_message(provider, exc), "error")
    if back_to:
        return redirect(url_for(back_to))
    return redirect(url_for("auth.login", next=next_url))


def failure_message(provider: Provider, exc: Exception) -> str:
    """Say in a sentence what went wrong and what to do next."""
    title = provider.title
    if isinstance(exc, SignInError):
        return str(exc)
    if isinstance(exc, MismatchingStateError):
        return "That sign-in had expired or was already used. Please sign in again."
    if isinstance(exc, OAuthError) and exc.error == "access_denied":
        return f"Signing in with {title} was cancelled. You can try again or choose another way."
    if isinstance(exc, OAuthError):
        detail = (exc.description or exc.error or "no reason given")[:200]
        return f"{title} refused the sign-in ({detail}). Please try again."
    if isinstance(exc, requests.Timeout):
        return f"{title} did not answer in time. Please try again in a moment."
    if isinstance(exc, requests.RequestException) and not isinstance(exc, ValueError):
        return f"We could not reach {title}. Please try again in a moment."
    return f"We could not verify the answer from {title}. Please try again, or choose another way."
