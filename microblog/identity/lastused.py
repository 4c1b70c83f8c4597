"""The provider this browser last signed in with: a cookie that names the provider, nothing else.

It only reorders the login page, so it is neither signed nor tied to an account, and it
outlives signing out: that is when the next person at this browser needs it.
"""

from __future__ import annotations

from datetime import timedelta

from flask import request
from werkzeug.wrappers import Response

from .providers import Provider

COOKIE = "last_provider"
# Browsers cap a cookie's lifetime at 400 days.
MAX_AGE = timedelta(days=400)


def first_and_rest(providers: list[Provider]) -> tuple[Provider | None, list[Provider]]:
    """The provider last used here (if still offered) and every provider, that one first."""
    name = request.cookies.get(COOKIE)
    last = next((p for p in providers if p.name == name), None)
    if last is None:
        return None, providers
    return last, [last, *(p for p in providers if p is not last)]


def remember(response: Response, provider: Provider) -> Response:
    """Note on the response which provider this browser has just signed in with."""
    response.set_cookie(COOKIE, provider.name, max_age=MAX_AGE, httponly=True, samesite="Lax")
    return response
