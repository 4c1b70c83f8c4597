"""The built-in development identity provider: a small OpenID Connect provider for `make run`.

This module holds its endpoints; devidp_consent the "Sign in as" page, devidp_tokens what
it signs. It answers only on loopback addresses, and so does the sign-in that uses it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, jsonify, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature
from werkzeug.wrappers import Response

from ..extensions import csrf
from .devidp_consent import (
    authorization_request,
    back,
    error_page,
    person_problem,
    sign_in_form,
)
from .devidp_tokens import (
    EXTENSION,
    DevIdp,
    client_authenticated,
    get_idp,
    grant_problem,
    id_token,
    issue_code,
    new_signing_key,
    serializer,
    user_claims,
)
from .urls import is_loopback

bp = Blueprint("devidp", __name__)
log = logging.getLogger(__name__)

CODE_TTL = 60  # seconds between the Continue button and the token request
TOKEN_TTL = 3600  # more than 60: Authlib treats access tokens as expired a minute early
CLAIMS = ("sub", "iss", "aud", "azp", "exp", "iat", "auth_time", "nonce",
          "email", "email_verified", "name", "preferred_username")  # fmt: skip
# A Host header: a name or IPv4 address, or an IPv6 address in brackets; then maybe a port.
HOST_RE = re.compile(r"(?P<name>\[[0-9A-Fa-f:.]+\]|[^\[\]:]+)(?::[0-9]{1,5})?")
# The sign-in views of the app that lead to this provider, checked like its own endpoints.
SIGN_IN_ENDPOINTS = ("auth.start", "auth.callback")
View = TypeVar("View", bound=Callable[..., ResponseReturnValue])


def init_app(app: Flask) -> None:
    """Serve the development provider under its issuer's path when a dev provider is ready."""
    providers = app.extensions["microblog.providers"].values()
    provider = next((p for p in providers if p.preset == "dev" and p.ready), None)
    # registry.init_app already refused a dev provider outside development; never serve one.
    if provider is None or provider.issuer is None or app.config["MICROBLOG_ENV"] != "development":
        return
    if not is_loopback_url(provider.issuer):
        log.warning("provider %s: issuer %s is not a loopback address; signing in with it "
                    "will be refused", provider.name, provider.issuer)  # fmt: skip
    # Made at start-up, not on first use: workers forked by gunicorn --preload share one key.
    idp = DevIdp(provider=provider, issuer=provider.issuer, key=new_signing_key())
    app.extensions[EXTENSION] = idp
    app.register_blueprint(bp, url_prefix=urlsplit(provider.issuer).path.rstrip("/"))
    app.before_request(keep_sign_in_on_loopback)


def is_loopback_host(host: str) -> bool:
    """Whether a Host header names this machine: localhost, 127.0.0.0/8 or [::1], any port.

    A DNS-rebinding page reaches a loopback server under its own name, never under these.
    """
    match = HOST_RE.fullmatch(host)
    if match is None:
        return False
    name = match["name"].lower()
    if name.startswith("["):  # only an IPv6 address goes in brackets
        return ":" in name and is_loopback(name[1:-1])
    return is_loopback(name)


def is_loopback_url(url: str) -> bool:
    """Whether a URL's host is one is_loopback_host accepts."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return False
    return is_loopback_host(netloc)


@bp.before_request
def only_on_loopback() -> ResponseReturnValue | None:
    """Refuse a request made to any other name than a loopback one (DNS rebinding)."""
    if is_loopback_host(request.host):
        return None
    problem = "The development provider answers only at localhost, 127.0.0.1 or [::1]."
    if request.endpoint in ("devidp.authorize", "devidp.decide"):
        return error_page(problem)
    return _error("invalid_request", problem)


def keep_sign_in_on_loopback() -> None:
    """Refuse a dev sign-in whose browser would leave loopback: at a rebound name, or issuer."""
    if request.endpoint not in SIGN_IN_ENDPOINTS:
        return
    idp = get_idp()
    if (request.view_args or {}).get("name") != idp.provider.name:
        return
    if not is_loopback_url(idp.issuer):
        abort(400, f"The development provider is set up at {idp.issuer}, which is not a "
                   "loopback address: set DEV_IDP_ISSUER (or its issuer in providers.toml) "
                   "to one, such as http://127.0.0.1:5000/dev-idp.")  # fmt: skip
    if not is_loopback_host(request.host):
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(idp.issuer))
        abort(400, f"The development provider works only on this machine's own address: "
                   f"open the site at {origin}/ to sign in with it.")  # fmt: skip


def _csrf_exempt(view: View) -> View:
    """Exempt a view from CSRF checks, keeping its type (Flask-WTF's decorator has none)."""
    csrf.exempt(view)
    return view


@bp.get("/.well-known/openid-configuration")
def discovery() -> Response:
    """Describe this provider; every URL is built from the issuer the client pinned."""
    issuer = get_idp().issuer
    base = issuer.rstrip("/")
    return jsonify(
        issuer=issuer,
        authorization_endpoint=f"{base}/authorize",
        token_endpoint=f"{base}/token",
        userinfo_endpoint=f"{base}/userinfo",
        jwks_uri=f"{base}/jwks",
        response_types_supported=["code"],
        subject_types_supported=["public"],
        id_token_signing_alg_values_supported=["RS256"],
        scopes_supported=["openid", "email", "profile"],
        token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
        grant_types_supported=["authorization_code"],
        code_challenge_methods_supported=["S256"],
        claims_supported=list(CLAIMS),
        authorization_response_iss_parameter_supported=True,
    )


@bp.get("/jwks")
def jwks() -> Response:
    """Publish the public half of the signing key."""
    return jsonify(keys=[get_idp().key.as_dict(private=False)])


@bp.get("/authorize")
def authorize() -> tuple[str, int] | str:
    """Check the authorization request, then ask whom to sign in as."""
    params, problem = authorization_request(request.args)
    if problem:
        return error_page(problem)
    return sign_in_form(params)


@bp.post("/authorize")
def decide() -> tuple[str, int] | Response:
    """Send the browser back with an authorization code, or with access_denied on Cancel."""
    params, problem = authorization_request(request.form)
    if problem:
        return error_page(problem)
    if request.form.get("action") == "cancel":
        return back(params, error="access_denied")
    email = request.form.get("email", "").strip()
    name = request.form.get("name", "").strip()[:100]
    verified = "email_verified" in request.form
    if problem := person_problem(email):
        return sign_in_form(params, email, name, verified, problem), 400
    return back(params, code=issue_code(params, email, name, verified))


@bp.post("/token")
@_csrf_exempt  # a server-to-server call authenticated by the client secret
def token() -> Response:
    """Exchange a one-time authorization code for an ID token and an access token."""
    idp = get_idp()
    if not client_authenticated(idp.provider):
        return _token_error("invalid_client", "client authentication failed", 401)
    if request.form.get("grant_type") != "authorization_code":
        return _token_error("unsupported_grant_type", "only authorization_code is supported")
    try:
        grant = serializer("code").loads(request.form.get("code", ""), max_age=CODE_TTL)
    except BadSignature:  # also SignatureExpired
        return _token_error("invalid_grant", "the code is invalid or expired")
    # Spent before the other checks: a code that met a wrong verifier is burnt, not retried.
    if not idp.spend(grant["id"], CODE_TTL):
        return _token_error("invalid_grant", "the code was already used")
    if problem := grant_problem(grant, idp.provider):
        return _token_error("invalid_grant", problem)
    user = user_claims(grant)
    access_token = serializer("access").dumps({**user, "scope": grant["scope"]})
    response = jsonify(
        access_token=access_token,
        token_type="Bearer",
        expires_in=TOKEN_TTL,
        id_token=id_token(idp, grant, user),
        scope=grant["scope"],
    )
    return _no_store(response)


@bp.route("/userinfo", methods=["GET", "POST"])
@_csrf_exempt  # authenticated by a bearer token, which no browser sends on its own
def userinfo() -> Response:
    """Return the claims of the person the access token was issued for."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise BadSignature("no bearer token")
        claims = serializer("access").loads(raw.strip(), max_age=TOKEN_TTL)
    except BadSignature:
        response = _error("invalid_token", "missing, invalid or expired", 401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="dev-idp", error="invalid_token"'
        return response
    claims.pop("scope", None)
    return _no_store(jsonify(claims))


def _token_error(error: str, description: str, status: int = 400) -> Response:
    """Answer the token request with an RFC 6749 section 5.2 error."""
    log.info("dev provider refused a token request: %s (%s)", error, description)
    response = _error(error, description, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="dev-idp"'
    return response


def _error(error: str, description: str, status: int = 400) -> Response:
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    return _no_store(response)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
