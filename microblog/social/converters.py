"""URL converters for the microblog's routes."""

from __future__ import annotations

from werkzeug.routing import BaseConverter


class NicknameConverter(BaseConverter):
    """A nickname in a URL, in any case, lowercased.

    Anything else (a NUL byte, which PostgreSQL refuses, or 300 characters) cannot name a user,
    so it is a 404 from the router and never reaches the database.
    """

    regex = r"[A-Za-z0-9_]{1,24}"

    def to_python(self, value: str) -> str:
        return value.lower()
