"""Where the browser may go after signing in: `next` only ever leads to a path on this site."""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

from werkzeug.urls import iri_to_uri


def safe_next_url(unsafe_next: str | None) -> str | None:
    """Return unsafe_next as it will go on the wire if it is a path on this site, else None."""
    if not unsafe_next or len(unsafe_next) > 2048 or not _plain(unsafe_next):
        return None
    try:
        wire = iri_to_uri(unsafe_next)
        forms = [(form, urlsplit(form)) for form in (unsafe_next, wire, unquote(wire))]
    except ValueError:  # e.g. an unbalanced "[" where a host would be
        return None
    for form, parts in forms:
        if not form.startswith("/") or form.startswith("//") or parts.scheme or parts.netloc:
            return None
        if not _plain(form):
            return None
    return wire


def _plain(text: str) -> bool:
    """True if text has no backslash, whitespace or control character of any script.

    Browsers and Werkzeug drop or rewrite these, which is how "/\\t/evil.com" becomes
    "//evil.com" on the wire.
    """
    return "\\" not in text and not any(unicodedata.category(c)[0] in "CZ" for c in text)
