"""The measured pages, and the requests each one's load cycles over: many readers, many pages.

Every signed-in page is requested by READERS different people in turn (their own session cookie
or API token), and Explore over its first EXPLORE_PAGES pages, so that a cache of whole pages
cannot stand in for serving them (issue 13); only the visitor's front page is one request.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Flask

from bench import inprocess
from bench.loadgen import Request
from bench.seed import TAGS, Seeded
from microblog.api.tokens import create_token
from microblog.extensions import db

EXPLORE_DEPTH = 50  # the deep page: its cursor comes from following "Older" 49 times
EXPLORE_PAGES = 10  # the Explore load cycles over its first pages
VISITOR_PAGES = frozenset({"front"})  # measured signed out; every other page signed in
API_PAGES = frozenset({"api timeline"})  # signed in with a bearer token, not the cookie
HOME_PAGES = frozenset({"home"})  # the only page measured at the home-only sizes (10M posts)


@dataclass
class Readers:
    """The signed-in people of the load: a session cookie and an API token each."""

    cookies: list[str]
    tokens: list[str]

    def browser(self, n: int) -> dict[str, str]:
        return {"Cookie": f"session={self.cookies[n]}", "User-Agent": inprocess.USER_AGENT}

    def api(self, n: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[n]}", "User-Agent": inprocess.USER_AGENT}


def mint_readers(app: Flask, user_ids: tuple[int, ...]) -> Readers:
    """Sign every reader in with the app's own code: a cookie and a read token each."""
    cookies = [inprocess.mint_cookie(app, user_id) for user_id in user_ids]
    with app.app_context():
        tokens = [create_token(user_id, "bench", "read")[1] for user_id in user_ids]
        db.session.remove()
    return Readers(cookies, tokens)


def paths(app: Flask, seeded: Seeded, cookie: str, home_only: bool = False) -> dict[str, str]:
    """One path per page: what the in-process checks fetch (as the first reader)."""
    if home_only:
        return {"home": "/"}
    return {
        "home": "/",
        "explore": "/explore",
        "profile": f"/u/{seeded.profile_nickname}",
        f"explore page {EXPLORE_DEPTH}": inprocess.follow_older(
            app, cookie, "/explore", EXPLORE_DEPTH - 1
        ),
        "thread": f"/p/{seeded.thread_post_id}",
        "notifications": "/notifications",
        "front": "/",  # to a visitor: VISITOR_PAGES
        **search_pages(seeded.profile_nickname),
        "api timeline": "/api/v1/timeline",  # the reader's, with a token: API_PAGES
    }


def search_pages(nickname: str) -> dict[str, str]:
    """A tag page and searches: a common word, a phrase, one person's posts with a word, and a
    tag with a word."""
    return {
        "tag page": f"/tags/{TAGS[0]}",
        "search word": "/search?" + urlencode({"q": "coffee"}),
        "search phrase": "/search?" + urlencode({"q": '"the river"'}),
        "search from:": "/search?" + urlencode({"q": f"from:{nickname} music"}),
        "search #tag word": "/search?" + urlencode({"q": f"#{TAGS[2]} {TAGS[0]}"}),
    }


def explore_paths(app: Flask, cookie: str) -> list[str]:
    """Explore's first EXPLORE_PAGES pages, by their "Older" links."""
    found = ["/explore"]
    while len(found) < EXPLORE_PAGES:
        found.append(inprocess.follow_older(app, cookie, found[-1], 1))
    return found


def rotations(
    pages: dict[str, str], readers: Readers, explore: list[str]
) -> dict[str, list[Request]]:
    """The requests each page's load cycles over, and bare Flask's (as signed in as the pages)."""
    everyone = range(len(readers.cookies))
    out: dict[str, list[Request]] = {"hello": [("/", readers.browser(n)) for n in everyone]}
    for name, path in pages.items():
        if name in VISITOR_PAGES:
            out[name] = [(path, {"User-Agent": inprocess.USER_AGENT})]
        elif name in API_PAGES:
            out[name] = [(path, readers.api(n)) for n in everyone]
        elif name == "explore":
            out[name] = [(explore[n % len(explore)], readers.browser(n)) for n in everyone]
        else:
            out[name] = [(path, readers.browser(n)) for n in everyone]
    return out
