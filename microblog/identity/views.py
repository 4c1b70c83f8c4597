"""Blueprint for signing in and out: the login page, the hand-off, the callback, sign-out."""

from __future__ import annotations

import logging
from typing import Any

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from ..extensions import csrf
from ..security import rate_limit
from . import accounts, attempts, merge, rp_logout, sessions
from .client import Profile, ProviderError, SignInError
from .providers import Provider
from .redirects import safe_next_url
from .registry import all_providers, get_client, get_provider, provider_title

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)

# What a call to the provider may throw: its refusals, its network, answers we refuse.
# Nothing of our own: a bug in our code is a 500 with a traceback in the log, not a flash.
PROVIDER_FAILURES = (OAuthError, requests.RequestException, ProviderError, JoseError)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


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
    except PROVIDER_FAILURES as exc:  # discovery failed: the provider is down or misconfigured
        return _failed(provider, exc, next_url)
    client.save_authorize_data(redirect_uri=redirect_uri, **rv)
    merging = link_to is not None and bool(request.form.get("merge"))
    remember = bool(request.form.get("remember_me"))
    attempts.remember(rv["state"], name, remember, next_url, link_to, merge=merging)
    return redirect(rv["url"])


@bp.route("/auth/<name>/callback", methods=["GET", "POST"])
# Flask-WTF and Flask-Login are untyped: their decorators are where types stop.
@csrf.exempt  # type: ignore[untyped-decorator]  # `state` is this request's CSRF protection
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
    pending = attempts.pop(state, name)
    next_url = pending["next"] if pending else None
    back_to = "views.settings" if pending and pending.get("link_to") is not None else None
    try:
        attempt = _answered(pending)
        profile, token = _verified_profile(provider)
        if attempt["link_to"] is not None:
            finish = _merge if attempt.get("merge") else _link
            return finish(provider, profile, attempt["link_to"])
        user = accounts.sign_in(provider, profile, request.remote_addr)
    except (*PROVIDER_FAILURES, SignInError) as exc:
        attempts.forget_authlib_state(name, state)
        return _failed(provider, exc, next_url, back_to=back_to)
    attempts.renew_session()
    kept = rp_logout.kept(provider, token)
    sessions.begin(user, name, profile.subject, attempt["remember"], **kept)
    return redirect(next_url or url_for("views.index"))


def _answered(attempt: dict[str, Any] | None) -> dict[str, Any]:
    """Return the attempt this callback answers, unless the provider sent an error."""
    if error := request.values.get("error"):  # before state: a denial may come without one
        raise OAuthError(error=error, description=request.values.get("error_description"))
    if attempt is None:
        raise MismatchingStateError()
    return attempt


def _verified_profile(provider: Provider) -> tuple[Profile, dict[str, Any]]:
    """Check the provider's answer, trade its code for tokens, and read the profile."""
    client = get_client(provider.name)
    client.check_response_issuer(request.values.get("iss"))
    token = client.authorize_access_token()
    return client.fetch_profile(token), token


def _link(provider: Provider, profile: Profile, user_id: int) -> Response:
    """Finish linking another provider to the signed-in account that asked for it."""
    if not current_user.is_authenticated or current_user.id != user_id:
        raise SignInError("You signed out before linking finished. Sign in and try again.")
    accounts.link(current_user, provider, profile)
    flash(f"{provider.title} is now linked: you can sign in with it too.", "info")
    return redirect(url_for("views.settings"))


def _merge(provider: Provider, profile: Profile, user_id: int) -> Response:
    """Take this sign-in as proof of holding another account; ask to confirm the merge."""
    if not current_user.is_authenticated or current_user.id != user_id:
        raise SignInError("You signed out before the merge could start. Sign in and try again.")
    merge.prove(current_user, provider, profile)
    return redirect(url_for("auth.confirm_merge"))


@bp.post("/settings/identities/<int:identity_id>/unlink")
@login_required  # type: ignore[untyped-decorator]
def unlink(identity_id: int) -> Response:
    """Remove one way to sign in, never the last one."""
    try:
        provider = accounts.unlink(current_user, identity_id)
    except LookupError:
        abort(404)
    if provider is None:
        flash("That is your only way to sign in, so it stays. Link another one first.", "error")
    else:
        flash(f"{provider_title(provider)} is unlinked from your account.", "success")
    return redirect(url_for("views.settings"))


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
