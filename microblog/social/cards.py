"""Post cards drawn once per worker for everyone who sees them the same, then reused.

A card's HTML is a function of its row: the key holds every value the card shows (the post,
its counts, its author's names and picture) and how the viewer stands with it (signed in, liked,
their own), so an edit, a like, a rename or a new picture makes a new key on every worker at
once; posts that blocks, mutes, suspensions or deletions take off a page are not in its rows.
Only how long ago it was written is filled in on each page. The cache is an LRU with a cap.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app
from markupsafe import Markup

from ..models import utcnow
from .text import post_url, profile_url, tag_url, timeago

if TYPE_CHECKING:
    from .models import Post
    from .rows import PostRow

    ShownPost = Post | PostRow  # a page's rows, or a post loaded for its own page (search)

DEFAULT_SIZE = 4000  # cards, measured ~2.6 KB each with their key: ~10 MB a worker at most
# Where the how-long-ago goes: it cannot come out of anything escaped (that has no "<").
AGO = Markup("<!--ago-->")
OTHER_VIEWER = -1  # a signed-in viewer who is not the author, to render the shared card


class CardCache:
    """Cards' HTML around the how-long-ago, by everything they show: an LRU of `size`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._cards: OrderedDict[tuple[Any, ...], tuple[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[str, str] | None:
        with self._lock:
            card = self._cards.get(key)
            if card is not None:
                self._cards.move_to_end(key)
            return card

    def put(self, key: tuple[Any, ...], card: tuple[str, str]) -> None:
        with self._lock:
            self._cards[key] = card
            while len(self._cards) > self.size:
                self._cards.popitem(last=False)

    def __len__(self) -> int:
        return len(self._cards)


def init_app(app: Flask) -> None:
    """Give the app its card cache and the template global that draws cards."""
    app.config.setdefault("POST_CARD_CACHE_SIZE", DEFAULT_SIZE)
    app.extensions["post_cards"] = CardCache(app.config["POST_CARD_CACHE_SIZE"])
    app.add_template_global(post_card, "post_card")
    app.add_template_global(post_cards, "post_cards")


def post_card(
    post: ShownPost,
    viewer_id: int | None,
    focus_id: int | None = None,
    parent_id: int | None = None,
) -> Markup:
    """Return the card of one post as _post.html's render_post_card draws it, from the cache."""
    return post_cards([post], viewer_id, parent_id, focus_id)


def post_cards(
    posts: Iterable[ShownPost],
    viewer_id: int | None,
    parent_id: int | None = None,
    focus_id: int | None = None,
    chain: bool = False,
) -> Markup:
    """Return the cards of a list of posts, one after the other (a feed's, its order kept).

    In a `chain` (a thread, from the top down) each post's parent is the one before it.
    """
    cards: CardCache = current_app.extensions["post_cards"]
    # What the links start with (a mounted site's prefix): the same for every card of a page.
    site = (profile_url(""), tag_url(""), post_url(0))
    signed_in, now = bool(viewer_id), utcnow()
    html: list[str] = []
    for post in posts:
        user_id = post.user_id
        if user_id is None or post.hidden:  # placeholders: few, and without a time
            html.append(_render(post, viewer_id, focus_id, parent_id, None))
            parent_id = post.id if chain else parent_id
            continue
        author, reply_to = post.author, post.reply_to_id
        assert author is not None  # a post with its user_id has its author
        own = user_id == viewer_id
        shows_reply_to = bool(reply_to) and reply_to != parent_id
        key = (
            site,
            post.id,
            post.created_at,
            post.edited_at,
            post.body,
            post.mention_map,
            reply_to,
            shows_reply_to,
            post.like_count,
            post.reply_count,
            bool(post.liked),
            author.nickname,
            author.display_name,
            author.picture,
            signed_in,
            own,
        )
        card = cards.get(key)
        if card is None:
            card = _draw(post, signed_in, own, None if shows_reply_to else reply_to)
            cards.put(key, card)
        html += (card[0], timeago(post.created_at, now), card[1])
        parent_id = post.id if chain else parent_id
    return Markup("".join(html))


def _draw(post: ShownPost, signed_in: bool, own: bool, parent_id: int | None) -> tuple[str, str]:
    """Draw a card for a viewer who stands with the post as this one does, whoever they are."""
    viewer = (post.user_id if own else OTHER_VIEWER) if signed_in else None
    before, marker, after = _render(post, viewer, None, parent_id, AGO).partition(AGO)
    assert marker, "render_post_card lost its how-long-ago"
    return before, after


def _render(
    post: ShownPost,
    viewer_id: int | None,
    focus_id: int | None,
    parent_id: int | None,
    ago: Markup | None,
) -> Markup:
    module = current_app.jinja_env.get_template("_partials/_post.html").module
    html: Markup = module.render_post_card(post, viewer_id, focus_id, parent_id, ago)  # type: ignore[attr-defined]
    return html
