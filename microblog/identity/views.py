"""Blueprint for signing in and out: the login page, the hand-off, the callback, sign-out."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from ..extensions import csrf
from ..logs import loggable
from ..security import rate_limit
from . import accounts, attempts, clientauth, formpost, lastused, limits, merge, rp_logout, sessions
from .client import Profile, ProviderError, SignInError
from .providers import Provider
from .redirects import safe_next_url
from .registry import all_providers, get_client, get_provider, provider_title
from .variants import kind_of

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)

# What a call to the provider may throw: its refusals, its network, answers we refuse.
# Nothing of our own: a bug in our code is a 500 with a traceback in the log, not a flash.
PROVIDER_FAILURES = (OAuthError, requests.RequestException, ProviderError, JoseError)
# Shown for a callback that answers no attempt of this browser: whatever the provider (or
# whoever sent the browser here) wrote in `error_description` stays off our page.
UNFINISHED = (
    "That sign-in did not finish: it was cancelled, had expired or was already used. "
    "Please sign in again."
)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/login")
def login() -> str | Response:
    """Show one sign-in button per ready provider."""
    next_url = safe_next_url(request.args.get("next"))
    if request.args.get("notice") == "unfinished":  # from a callback that must not flash
        flash(UNFINISHED, "error")
    if current_user.is_authenticated:
        return redirect(next_url or url_for("views.index"))
    last, providers = lastused.first_and_rest([p for p in all_providers() if p.ready])
    return render_template(
        "auth/login.html", providers=providers, last_used=last, next_url=next_url
    )


@bp.post("/login/<name>")
@rate_limit("SIGNIN_RATE_LIMIT")
def start(name: str) -> Response:
    """Remember this attempt's choices, then send the browser to the provider.

    A signed-in person who posts `link=1` (from Settings) is adding this provider instead.
    """
    provider = get_provider(name) or abort(404)
    next_url = safe_next_url(request.form.get("next"))
    redirect_uri = url_for("auth.callback", name=name, _external=True)
    try:
        rv = get_client(name).create_authorization_url(redirect_uri)
    except PROVIDER_FAILURES as exc:  # discovery failed: the provider is down or misconfigured
        return _failed(provider, exc, next_url)
    linking = current_user.is_authenticated and request.form.get("link")
    attempt = attempts.Attempt(
        provider=name,
        remember=bool(request.form.get("remember_me")),
        next_url=next_url,
        link_to=current_user.id if linking else None,
        merge=bool(linking and request.form.get("merge")),  # link_to proves it holds another
        redirect_uri=redirect_uri,
        code_verifier=rv["code_verifier"],
        nonce=rv.get("nonce"),  # OpenID Connect only
    )
    attempts.save(rv["state"], attempt)
    return redirect(rv["url"])


@bp.route("/auth/<name>/callback", methods=["GET", "POST"])
@csrf.exempt  # `state` is this request's CSRF protection
@rate_limit("CALLBACK_RATE_LIMIT")
def callback(name: str) -> Response:
    """Finish the sign-in: verify the provider's answer, find the user, start the session."""
    provider = get_provider(name) or abort(404)
    if request.method == "POST" and kind_of(provider).form_post:
        if not formpost.is_continued():
            return formpost.continue_page(provider)  # the provider's own, cross-site POST
        if not formpost.from_this_site():
            abort(400)  # "continued" from another site: someone else's form
    response = _finish_sign_in(provider)
    # The callback URL carries the one-time code: never let it leak in a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _finish_sign_in(provider: Provider) -> Response:
    # One source for state, error, iss and code alike: the form of a POST (form_post), the
    # query of a GET. Never a mix: each is checked where the one that is used came from.
    params = request.form if request.method == "POST" else request.args
    attempt = attempts.pop(params.get("state"), provider.name)
    if attempt is None:  # not this browser's: no flash, no session write, no provider text
        return redirect(url_for("auth.login", notice="unfinished"))
    try:
        profile, token = _verified_profile(provider, attempt, params)
    except (*PROVIDER_FAILURES, SignInError) as exc:  # SignInError: a value we cannot store
        return _failed(provider, exc, attempt.next_url, attempt.link_to is not None)
    try:
        if attempt.link_to is not None:
            finish = _merge if attempt.merge else _link
            return finish(provider, profile, attempt.link_to)
        user = accounts.sign_in(provider, profile, limits.client_address(request.remote_addr))
    except SignInError as exc:
        return _failed(provider, exc, attempt.next_url, attempt.link_to is not None)
    attempts.renew_session()
    kept = rp_logout.kept(provider, token)
    sessions.begin(user, provider.name, profile.subject, attempt.remember, **kept)
    return lastused.remember(redirect(attempt.next_url or url_for("views.index")), provider)


def _verified_profile(
    provider: Provider, attempt: attempts.Attempt, params: Mapping[str, str]
) -> tuple[Profile, dict[str, Any]]:
    """Check the provider's answer to attempt, trade its code for tokens, read the profile."""
    if error := params.get("error"):
        raise OAuthError(error=error, description=params.get("error_description"))
    client = get_client(provider.name)
    client.check_response_issuer(params.get("iss"))
    token = client.exchange_code(
        params.get("code"), attempt.redirect_uri, attempt.code_verifier, attempt.nonce
    )
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
@login_required
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


@bp.get("/auth/jwks.json")
def jwks() -> Response:
    """Publish the public keys our private_key_jwt assertions are signed with."""
    response = jsonify(clientauth.public_jwks(all_providers()))
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _failed(
    provider: Provider, exc: Exception, next_url: str | None, to_settings: bool = False
) -> Response:
    """Log the technical reason, tell the person what happened, and go back where they were."""
    log.warning("sign-in with %s failed: %s: %s", provider.name, type(exc).__name__, loggable(exc))
    flash(failure_message(provider, exc), "error")
    if to_settings:
        return redirect(url_for("views.settings"))
    return redirect(url_for("auth.login", next=next_url))


def failure_message(provider: Provider, exc: Exception) -> str:
    """Say in a sentence what went wrong and what to do next."""
    title = provider.title
    if isinstance(exc, SignInError):
        return str(exc)
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
