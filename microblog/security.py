"""Hardening: security headers, cookies Secure whenever over https, and rate limits."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from flask import Flask, Response, current_app, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import RequestLimit, RouteLimit
from flask_login import current_user

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


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, Secure when the request is https (behind ProxyFix too)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or request.is_secure


def init_app(app: Flask) -> None:
    """Install the session interface, the log filter and the header hook on `app`."""
    app.session_interface = SessionInterface()
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactSecrets) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(RedactSecrets())
    # Registered before Flask-Login's handler, so it runs after it and sees the remember cookie.
    app.after_request(_harden)


def _harden(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
        cookies = response.headers.getlist("Set-Cookie")
        response.headers.remove("Set-Cookie")
        for cookie in cookies:
            secure = "; secure" in cookie.lower()
            response.headers.add("Set-Cookie", cookie if secure else cookie + "; Secure")
    return response


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
