"""Avatars: the provider's https picture, else an identicon drawn here (no third party sees it)."""

from __future__ import annotations

import hashlib

from flask import request
from werkzeug.wrappers import Response

from ..models import User
from .rows import AuthorRow
from .text import profile_url

GRID = 5  # cells a side; the left half is mirrored onto the right
IDENTICON_MAX_AGE = 24 * 3600  # a freed nickname may pass to someone else, so not forever


def avatar_url(user: User | AuthorRow) -> str:
    """Return the URL of user's picture if it is an https one, else of their identicon."""
    if user.picture and user.picture.startswith("https://"):
        return user.picture
    return profile_url(user.nickname) + "/avatar.svg"


def identicon_svg(user: User) -> str:
    """Draw user's identicon: a symmetric 5×5 pattern in a colour, from a hash of the account.

    The account's id and creation time: an id alone may pass to the next account.
    """
    account = f"{user.id}:{user.created_at.isoformat()}"
    digest = hashlib.sha256(f"microblog-identicon:{account}".encode()).digest()
    hue = int.from_bytes(digest[:2], "big") % 360
    bits = int.from_bytes(digest[2:6], "big")
    half = (GRID + 1) // 2
    cells = [(x, y) for x in range(half) for y in range(GRID) if bits >> (x * GRID + y) & 1]
    cells = cells or [(half - 1, GRID // 2)]  # never an empty square
    rects = "".join(
        f'<rect x="{cx}" y="{y}" width="1" height="1"/>'
        for x, y in cells
        for cx in sorted({x, GRID - 1 - x})
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-0.5 -0.5 {GRID + 1} {GRID + 1}" '
        f'width="96" height="96" shape-rendering="crispEdges">'
        f'<rect x="-0.5" y="-0.5" width="{GRID + 1}" height="{GRID + 1}" '
        f'fill="hsl({hue} 45% 92%)"/>'
        f'<g fill="hsl({hue} 55% 42%)">{rects}</g></svg>'
    )


def identicon_response(user: User) -> Response:
    """Send user's identicon, cacheable by browsers and revalidated by its ETag."""
    response = Response(identicon_svg(user), mimetype="image/svg+xml")
    response.cache_control.public = True
    response.cache_control.max_age = IDENTICON_MAX_AGE
    # An SVG opened on its own is a document of this site: let it run and load nothing.
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.add_etag()
    return response.make_conditional(request)
