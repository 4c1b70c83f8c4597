"""Response hardening: cookies marked Secure whenever the page came over https."""

from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.wrappers import Response


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, Secure when the request is https (behind ProxyFix too)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or request.is_secure


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    # Registered before Flask-Login's handler, so it runs after it and sees the remember cookie.
    app.after_request(_secure_cookies)


def _secure_cookies(response: Response) -> Response:
    if request.is_secure:
        cookies = response.headers.getlist("Set-Cookie")
        response.headers.remove("Set-Cookie")
        for cookie in cookies:
            response.headers.add("Set-Cookie", cookie if "; secure" in cookie.lower() else cookie + "; Secure")
    return response
