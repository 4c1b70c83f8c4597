"""The built-in development identity provider: a small OpenID Connect provider for `make run`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from itsdangerous import BadSignature, URLSafeTimedSerializer
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.wrappers import Response

from ..extensions import csrf
from .providers import Provider, is_loopback

bp = Blueprint("devidp", __name__)
log = logging.getLogger(__name__)

EXTENSION = "microblog.devidp"
CODE_TTL = 60  # seconds between the Continue button and the token request
TOKEN_TTL = 3600  # more than 60: Authlib treats access tokens as expired a minute early
ID_TOKEN_TTL = 300
CLAIMS = ("sub", "iss", "aud", "azp", "exp", "iat", "auth_time", "nonce",
          "email", "email_verified", "name", "preferred_username")  # fmt: skip
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+")
VERIFIER_RE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 section 4.1
AUTHORIZE_PARAMS = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
                    "code_challenge", "code_challenge_method")  # fmt: skip
# What an authorization code remembers of its request, for the token endpoint to check.
GRANT_PARAMS = ("client_id", "redirect_uri", "scope", "nonce", "code_challenge")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


@dataclass
class DevIdp:
    """One app's development provider: who it serves, its signing key and its spent codes."""

    provider: Provider
    issuer: str
    key: RSAKey
    used_codes: dict[str, float] = field(default_factory=dict)  # code id -> when it expires
    lock: threading.Lock = field(default_factory=threading.Lock)

    def spend(self, code_id: str) -> bool:
        """Mark a code as used; False if it already was.

        Memory is enough for `make run`'s single process; under several workers a code is
        single-use per worker only, which a development provider can live with.
        """
        now = time.time()
        with self.lock:
            for stale in [c for c, until in self.used_codes.items() if until < now]:
                del self.used_codes[stale]
            if code_id in self.used_codes:
                return False
            self.used_codes[code_id] = now + CODE_TTL + 1
            return True


def init_app(app: Flask) -> None:
    """Serve the development provider under its issuer's path when a dev provider is ready."""
    providers = app.extensions["microblog.providers"].values()
    provider = next((p for p in providers if p.preset == "dev" and p.ready), None)
    # providers.init_app already refused a dev provider outside development; never serve one.
    if provider is None or provider.issuer is None or app.config["MICROBLOG_ENV"] != "development":
        return
    # Made at start-up, not on first use: workers forked by gunicorn --preload share one key.
    key = RSAKey.generate_key(
        2048, parameters={"kid": secrets.token_urlsafe(8), "use": "sig", "alg": "RS256"}
    )
    app.extensions[EXTENSION] = DevIdp(provider=provider, issuer=provider.issuer, key=key)
    app.register_blueprint(bp, url_prefix=urlsplit(provider.issuer).path.rstrip("/"))


def get_idp() -> DevIdp:
    """Return this app's development provider."""
    return current_app.extensions[EXTENSION]


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
        return render_template("devidp/error.html", problem=problem), 400
    return _sign_in_form(params)


@bp.post("/authorize")
def decide() -> tuple[str, int] | Response:
    """Send the browser back with an authorization code, or with access_denied on Cancel."""
    params, problem = authorization_request(request.form)
    if problem:
        return render_template("devidp/error.html", problem=problem), 400
    if request.form.get("action") == "cancel":
        return _back(params, error="access_denied")
    email = request.form.get("email", "").strip()
    name = request.form.get("name", "").strip()[:100]
    verified = "email_verified" in request.form
    if not EMAIL_RE.fullmatch(email) or len(email) > 254:
        problem = "Enter an email such as ada@example.org."
        return _sign_in_form(params, email, name, verified, problem), 400
    return _back(params, code=_issue_code(params, email, name, verified))


@bp.post("/token")
@csrf.exempt  # a server-to-server call authenticated by the client secret
def token() -> Response:
    """Exchange a one-time authorization code for an ID token and an access token."""
    idp = get_idp()
    if not _client_authenticated(idp.provider):
        return _token_error("invalid_client", "client authentication failed", 401)
    if request.form.get("grant_type") != "authorization_code":
        return _token_error("unsupported_grant_type", "only authorization_code is supported")
    try:
        grant = _serializer("code").loads(request.form.get("code", ""), max_age=CODE_TTL)
    except BadSignature:  # also SignatureExpired
        return _token_error("invalid_grant", "the code is invalid or expired")
    # Spent before the other checks: a code that met a wrong verifier is burnt, not retried.
    if not idp.spend(grant["id"]):
        return _token_error("invalid_grant", "the code was already used")
    problem = _grant_problem(grant, idp.provider)
    if problem:
        return _token_error("invalid_grant", problem)
    user = _user_claims(grant)
    access_token = _serializer("access").dumps({**user, "scope": grant["scope"]})
    response = jsonify(
        access_token=access_token,
        token_type="Bearer",
        expires_in=TOKEN_TTL,
        id_token=_id_token(idp, grant, user),
        scope=grant["scope"],
    )
    return _no_store(response)


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt  # authenticated by a bearer token, which no browser sends on its own
def userinfo() -> Response:
    """Return the claims of the person the access token was issued for."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise BadSignature("no bearer token")
        claims = _serializer("access").loads(raw.strip(), max_age=TOKEN_TTL)
    except BadSignature:
        response = jsonify(error="invalid_token", error_description="missing, invalid or expired")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="dev-idp", error="invalid_token"'
        return _no_store(response)
    claims.pop("scope", None)
    return _no_store(jsonify(claims))


def authorization_request(values: Any) -> tuple[dict[str, str], str | None]:
    """Return the request's parameters and what is wrong with them (None when all is well)."""
    params = {k: values.get(k, "") for k in AUTHORIZE_PARAMS}
    provider = get_idp().provider
    # The relying party is this very app: a bad request is a bug to show, not to redirect.
    if params["client_id"] != provider.client_id:
        return params, f"Unknown client_id {params['client_id']!r}."
    if params["redirect_uri"] not in allowed_redirect_uris(provider):
        return params, f"The redirect_uri {params['redirect_uri']!r} is not this app's callback."
    if params["response_type"] != "code":
        return params, "Only response_type=code is supported."
    if "openid" not in params["scope"].split():
        return params, "The scope must include openid."
    if params["code_challenge_method"] != "S256" or not params["code_challenge"]:
        return params, "PKCE is required: send a code_challenge with code_challenge_method=S256."
    if not params["state"] or not params["nonce"]:
        return params, "Both state and nonce are required."
    return params, None


def allowed_redirect_uris(provider: Provider) -> set[str]:
    """This app's callback for the dev provider, on the issuer's host or the request's host."""
    path = url_for("auth.callback", name=provider.name)
    issuer = urlsplit(get_idp().issuer)
    origins = {f"{issuer.scheme}://{issuer.netloc}", f"{request.scheme}://{request.host}"}
    if issuer.hostname and is_loopback(issuer.hostname) and issuer.port:
        # Opening the site as localhost while the issuer says 127.0.0.1 should still work.
        origins |= {f"{issuer.scheme}://{host}:{issuer.port}" for host in LOOPBACK_HOSTS}
    return {origin + path for origin in origins}


def _sign_in_form(
    params: dict[str, str],
    email: str = "",
    name: str = "",
    verified: bool = True,
    problem: str | None = None,
) -> str:
    """Render the "Sign in as" page, the request riding along in hidden fields."""
    return render_template("devidp/authorize.html", params=params, email=email, name=name,
                           verified=verified, problem=problem)  # fmt: skip


def _back(params: dict[str, str], **answer: str) -> Response:
    """Redirect to the client with the answer, its state and our issuer (RFC 9207)."""
    query = urlencode({**answer, "state": params["state"], "iss": get_idp().issuer})
    separator = "&" if "?" in params["redirect_uri"] else "?"
    return redirect(f"{params['redirect_uri']}{separator}{query}")


def _issue_code(params: dict[str, str], email: str, name: str, verified: bool) -> str:
    """Sign a one-time code carrying the request and the person; nothing is stored."""
    grant = {k: params[k] for k in GRANT_PARAMS}
    return _serializer("code").dumps(
        {**grant, "id": secrets.token_urlsafe(12), "email": email, "email_verified": verified,
         "name": name or None, "auth_time": int(time.time())}
    )  # fmt: skip


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    salt = f"microblog.devidp.{purpose}"  # codes, tokens and sessions never pass for each other
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _client_authenticated(provider: Provider) -> bool:
    """Check client_secret_basic or client_secret_post credentials against the dev client."""
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        # RFC 6749 2.3.1: both halves are form-encoded before the Basic encoding.
        client_id, secret = unquote(auth.username or ""), unquote(auth.password or "")
    else:
        client_id = request.form.get("client_id", "")
        secret = request.form.get("client_secret", "")
    # providers.init_app filled these in: the configured values or microblog-dev and
    # dev_client_secret(app), the same the Authlib client sends.
    right_id = hmac.compare_digest(client_id.encode(), provider.client_id.encode())
    right_secret = hmac.compare_digest(secret.encode(), provider.client_secret.encode())
    return right_id and right_secret


def _grant_problem(grant: dict[str, Any], provider: Provider) -> str | None:
    """Say why this code may not be redeemed by this request, or return None."""
    if grant["client_id"] != provider.client_id:
        return "the code was issued to another client"
    if request.form.get("redirect_uri") != grant["redirect_uri"]:
        return "redirect_uri differs from the authorization request's"
    verifier = request.form.get("code_verifier", "")
    if not VERIFIER_RE.match(verifier):
        return "code_verifier is missing or malformed"
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    if not hmac.compare_digest(challenge, grant["code_challenge"]):
        return "code_verifier does not match the code_challenge"
    return None


def _user_claims(grant: dict[str, Any]) -> dict[str, Any]:
    """The person's claims; the same email always gets the same subject."""
    email = grant["email"]
    secret = current_app.config["SECRET_KEY"].encode()
    subject = hmac.new(secret, b"dev-idp-sub:" + email.lower().encode(), hashlib.sha256)
    return {
        "sub": subject.hexdigest()[:32],
        "email": email,
        "email_verified": grant["email_verified"],
        "name": grant["name"] or email.partition("@")[0],
        "preferred_username": email.partition("@")[0],
    }


def _id_token(idp: DevIdp, grant: dict[str, Any], user: dict[str, Any]) -> str:
    """Sign the ID token for this grant (OpenID Connect Core 2)."""
    now = int(time.time())
    claims = {
        **user,
        "iss": idp.issuer,
        "aud": grant["client_id"],
        "azp": grant["client_id"],
        "exp": now + ID_TOKEN_TTL,
        "iat": now,
        "auth_time": grant["auth_time"],
        "nonce": grant["nonce"],
    }
    return jwt.encode({"alg": "RS256", "kid": idp.key.kid}, claims, idp.key)


def _token_error(error: str, description: str, status: int = 400) -> Response:
    """Answer the token request with an RFC 6749 section 5.2 error."""
    log.info("dev provider refused a token request: %s (%s)", error, description)
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="dev-idp"'
    return _no_store(response)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
