"""Hardening: security headers, cookies Secure whenever over https, and rate limits."""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import (
    Flask,
    Request,
    Response,
    abort,
    current_app,
    g,
    make_response,
    request,
    session,
)
from flask.globals import request_ctx
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_limiter import RequestLimit, RouteLimit
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature

from .extensions import limiter

# No inline script or style anywhere; images may be a provider's https avatar.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = "max-age=31536000; includeSubDomains"
# For pages with personal data (email addresses, sign-in history): no cache keeps a copy.
NO_STORE = "no-store"
P = ParamSpec("P")
# Pages read on every visit that no rate limit applies to (their forms post to limited views):
# the limiter skips them, unless the operator sets limits for every page (RATELIMIT_DEFAULT).
UNLIMITED_PAGES = frozenset(
    f"views.{name}"
    for name in ("index", "explore", "profile", "thread", "notifications", "tag", "people")
)
CSRF_TOKENS_KEPT = 2_000  # signed CSRF tokens a worker keeps (~0.3 KB each)
SESSIONS_KEPT = 2_000  # verified session cookies a worker keeps (~1 KB each)
PLAIN = (str, int, float, bool, type(None))  # session values safe to share between requests
V = TypeVar("V")
# Query parameters that carry credentials: the callback's one-time code, and tokens.
SECRET_PARAMS = re.compile(r"\b(code|access_token|id_token|token)=[^&\s\"]+")


class RedactSecrets(logging.Filter):
    """Blank credentials out of logged URLs (the development server logs every request line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                SECRET_PARAMS.sub(r"\1=[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


class PublicScheme:
    """WSGI middleware: requests arrive on the public URL's scheme, whatever the last hop used.

    Outside ProxyFix, so a trusted proxy's X-Forwarded-Proto still has the last word.
    """

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], scheme: str) -> None:
        self.wsgi_app, self.scheme = wsgi_app, scheme

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        environ["wsgi.url_scheme"] = self.scheme
        return self.wsgi_app(environ, start_response)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, Secure when the request is https (behind ProxyFix too).

    A cookie it has verified is not verified again (the signature, zlib, JSON: most of a page's
    session cost) while it is young enough: keyed by the whole signed value, only what was
    checked once comes back. Sessions holding anything but plain values (flashes) are not kept.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or request.is_secure

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        value = request.cookies.get(self.get_cookie_name(app))
        verified: LRU[tuple[dict[str, Any], float]] | None = app.extensions.get("sessions_seen")
        if not value and app.secret_key:
            # A visitor's or an API call's: an empty session, as Flask's would be, without
            # Flask's building a signing serializer first (a JSON dump to test it, per request).
            return self.session_class()
        if not value or verified is None or not app.secret_key:
            return super().open_session(app, request)
        max_age = app.permanent_session_lifetime.total_seconds()
        seen = verified.get_recent(value)
        if seen is not None and time.time() - seen[1] <= max_age:
            return self.session_class(seen[0])  # a copy: its values are immutable
        serializer = self.get_signing_serializer(app)
        assert serializer is not None
        try:
            data, signed_at = serializer.loads(value, max_age=int(max_age), return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if isinstance(data, dict) and all(isinstance(v, PLAIN) for v in data.values()):
            verified.keep(value, (data, signed_at.timestamp()))
        return self.session_class(data)


def init_app(app: Flask) -> None:
    """Install the session interface, the log filter and the header hook on `app`."""
    app.session_interface = SessionInterface()
    app.extensions["sessions_seen"] = LRU[tuple[dict[str, Any], float]](SESSIONS_KEPT)
    if app.config["WTF_CSRF_TIME_LIMIT"] is None:  # a token then lasts as long as its session
        app.extensions["signed_csrf_tokens"] = LRU[str](CSRF_TOKENS_KEPT)
        # Flask-WTF hands templates its csrf_token in a context processor: this one comes later.
        app.context_processor(lambda: {"csrf_token": csrf_token})
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactSecrets) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(RedactSecrets())
    # Registered before Flask-Login's handler, so it runs after it and sees the remember cookie.
    app.after_request(_harden)
    if public_url := app.config["PUBLIC_URL"]:
        # The Host header would otherwise become the callback URL sent to providers.
        scheme, public_host = urlsplit(public_url)[:2]
        app.wsgi_app = PublicScheme(app.wsgi_app, scheme)  # type: ignore[method-assign]
        app.before_request(lambda: _only(public_host))


class LRU(OrderedDict[str, V]):
    """A dict that forgets what was used least recently beyond `size` entries."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size, self.lock = size, threading.Lock()

    def get_recent(self, key: str) -> V | None:
        with self.lock:
            value = self.get(key)
            if value is not None:
                self.move_to_end(key)
            return value

    def keep(self, key: str, value: V) -> None:
        with self.lock:
            self[key] = value
            while len(self) > self.size:
                self.popitem(last=False)


def csrf_token() -> str:
    """Return the page's CSRF token (Flask-WTF's), signed once per session and worker rather
    than on every page: without a time limit, any signature of the session's token is as good."""
    token: str | None = g.get("csrf_token")  # where generate_csrf keeps it for the request
    if token is None:
        signed: LRU[str] = current_app.extensions["signed_csrf_tokens"]
        raw = session.get("csrf_token")
        token = signed.get_recent(raw) if isinstance(raw, str) else None
        if token is None:
            token = generate_csrf()
            signed.keep(session["csrf_token"], token)
        g.csrf_token = token
    return token


def _only(public_host: str) -> None:
    """Refuse a request for another host name (DNS rebinding, a forged Host header)."""
    if request.host.lower() != public_host:
        abort(400, "This site answers only at its own address. Check the link you followed.")


def no_store(view: Callable[P, ResponseReturnValue]) -> Callable[P, Response]:
    """Mark a view's pages as never to be kept by a cache: they show personal data."""

    @functools.wraps(view)
    def private_view(*args: P.args, **kwargs: P.kwargs) -> Response:
        response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = NO_STORE
        return response

    return private_view


def _harden(response: Response) -> Response:
    # Those a view did not set itself, in one look at its headers (this runs on every page).
    present = {name.lower() for name in response.headers.keys()}
    response.headers.extend((k, v) for k, v in HEADERS.items() if k.lower() not in present)
    if getattr(request_ctx, "flashes", None):
        # A page showing a flashed message (which may name an email address) is one person's.
        response.headers["Cache-Control"] = NO_STORE
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
        cookies = response.headers.getlist("Set-Cookie")
        response.headers.remove("Set-Cookie")
        for cookie in cookies:
            secure = "; secure" in cookie.lower()
            response.headers.add("Set-Cookie", cookie if secure else cookie + "; Secure")
    return response


@limiter.request_filter
def _unlimited_page() -> bool:
    return (
        request.method == "GET"
        and request.endpoint in UNLIMITED_PAGES
        and not current_app.config.get("RATELIMIT_DEFAULT")
        and not current_app.config.get("RATELIMIT_APPLICATION")
    )


def rate_limit(
    setting: str,
    per_user: bool = False,
    on_breach: Callable[[RequestLimit], Response | None] | None = None,
) -> RouteLimit:
    """Limit a view by the limit string in app.config[setting], per address or per user."""
    return limiter.limit(
        lambda: current_app.config[setting],
        key_func=(lambda: f"user:{current_user.id}") if per_user else None,
        on_breach=on_breach,
    )
