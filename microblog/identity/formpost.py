"""Answers a provider posts from its own site (response_mode=form_post, as Apple does).

Such a POST is cross-site, so it carries none of our SameSite=Lax cookies, yet the browser
would store a cookie we set in reply: writing the session then would replace the visitor's.
So the first POST gets a page that touches no session and posts the same answer back from
this site (a small script submits it, or the person presses its button); the sign-in runs on
that second, same-site POST, which brings the visitor's cookies.
"""

from __future__ import annotations

from flask import render_template, request
from werkzeug.wrappers import Response

from .providers import Provider

# What a form_post answer may carry (OAuth 2.0 Form Post, RFC 9207's iss, Apple's `user`).
FIELDS = ("code", "state", "error", "error_description", "iss", "user")
CONTINUED = "continued"  # the field our page adds: this POST is the second one


def is_continued() -> bool:
    """True if this POST says it comes from our continue page."""
    return request.form.get(CONTINUED) == "1"


def from_this_site() -> bool:
    """True if this POST came from one of our pages (Fetch Metadata, else its Origin)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("Origin")  # sent on every POST by browsers without it
    return origin is None or origin == request.host_url.rstrip("/")


def continue_page(provider: Provider) -> Response:
    """The page that posts the provider's answer back from this site; no session touched."""
    fields = {k: v for k in FIELDS if (v := request.form.get(k)) is not None}
    html = render_template("auth/continue.html", provider=provider, fields=fields)
    # No code in this URL, and the POST our page sends must name its origin.
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}
    return Response(html, headers=headers, mimetype="text/html")
