"""The JSON API under /api/v1/: timelines, people, posts and threads, writing.

notification_views.py adds the notifications to this blueprint.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, request
from flask_limiter.util import get_remote_address
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from ..extensions import csrf, db, limiter
from ..models import User
from ..social import posting, relations, text
from ..social.models import Post
from ..social.pages import read_window
from ..social.paging import load_page
from ..social.queries import (
    binds,
    posts_query,
    profile_query,
    replies_query,
    thread_query,
    timeline_authors,
)
from ..social.rows import load_posts
from . import serialize
from .models import ApiToken
from .problems import Problem
from .tokens import current_token

# Any number matches, so that every method of a post's address is known (405, not 404);
# those no PostgreSQL INTEGER holds are refused before they reach the database.
POST_ID = "<int:post_id>"
POST_ID_MAX = 2**31 - 1
Json = dict[str, Any]


def _rate_key() -> str:
    """Count requests per token (per address for requests without a valid one)."""
    token = current_token() if current_user.is_authenticated else None
    return f"api-token:{token.id}" if token else f"api-address:{get_remote_address()}"


bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # no cookies reach the API (tokens.WithoutCookies): nothing to forge
limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=_rate_key)(bp)
write_limit = limiter.limit(lambda: current_app.config["POST_RATE_LIMIT"], key_func=_rate_key)


@bp.url_value_preprocessor
def _post_id_in_range(endpoint: str | None, values: dict[str, Any] | None) -> None:
    post_id = (values or {}).get("post_id")
    if post_id is not None and not 0 < post_id <= POST_ID_MAX:
        raise Problem(404, "no-such-post", f"There is no post {post_id}.")


def token_user(write: bool = False) -> User:
    """Return the token's owner; 401 without a valid token, 403 if it may not write."""
    token: ApiToken | None = current_token() if current_user.is_authenticated else None
    if token is None:
        challenge = 'Bearer realm="microblog"'
        if request.headers.get("Authorization"):
            challenge += ', error="invalid_token"'
        raise Problem(401, "token-required", "", {"WWW-Authenticate": challenge})
    if write and not token.can_write:
        raise Problem(
            403,
            "insufficient-scope",
            "This token may only read. Make one with the scope read write in Settings.",
            {"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="read write"'},
            scope="read write",
        )
    return token.user


def read_post_body() -> str:
    """Return the cleaned `body` of a JSON request; 415 or 422 problems say what is wrong."""
    if not request.is_json:
        raise Problem(415, "json-required", 'Send a JSON object, like {"body": "Hello"}.')
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("body"), str):
        message = "Send a JSON object with the post's text as a string in `body`."
        raise Problem(422, "invalid-post", message, errors={"body": message})
    body = text.clean_text(data["body"])
    if error := text.post_problem(body):
        raise Problem(422, "invalid-post", error, errors={"body": error})
    return body


def live_post(post_id: int) -> Post:
    """Return a post that is there (not deleted), or answer 404."""
    post: Post = db.first_or_404(
        sa.select(Post).where(Post.id == post_id, Post.user_id.is_not(None))
    )
    return post


def refuse_if_blocked(user: User, other_id: int, what: str) -> None:
    if relations.blocked_either_way(user.id, other_id):
        raise Problem(403, "blocked", f"You cannot {what}: one of you blocked the other.")


@bp.get("/timeline")
def timeline() -> Json:
    """List the posts of whom the token's owner follows, and theirs, newest first."""
    user = token_user()
    page = load_page(posts_query(True), read_window(), binds(user.id), authors=timeline_authors())
    return serialize.page(page, serialize.post)


@bp.get("/explore")
def explore() -> Json:
    """List everyone's posts, newest first (but those of people the owner does not see)."""
    user = token_user()
    page = load_page(posts_query(True), read_window(), binds(user.id))
    return serialize.page(page, serialize.post)


@bp.get("/users/<nickname:nickname>")
def user(nickname: str) -> Json:
    """Show a person: profile, counts, and how the token's owner stands with them."""
    values = binds(token_user().id, nickname=nickname)
    row = db.session.execute(profile_query(True), values).one_or_none()
    if row is None:
        raise Problem(404, "no-such-user", f"Nobody is called {nickname} here.")
    return serialize.profile(row)


@bp.get("/users/<nickname:nickname>/posts")
def user_posts(nickname: str) -> Json:
    """List a person's posts, newest first (none from someone blocked or muted)."""
    viewer = token_user()
    author = db.first_or_404(sa.select(User.id).where(User.nickname == nickname))
    posts = posts_query(True).where(Post.user_id == author)
    return serialize.page(load_page(posts, read_window(), binds(viewer.id)), serialize.post)


@bp.get(f"/posts/{POST_ID}")
def thread(post_id: int) -> Json:
    """Show a post, the posts it replies to (top first), and a page of its replies."""
    viewer = token_user()
    values = binds(viewer.id, post_id=post_id)
    chain = load_posts(thread_query(True), values)
    if not chain or chain[-1].deleted or chain[-1].hidden:
        raise Problem(404, "no-such-post", f"There is no post {post_id} to see.")
    *ancestors, post = chain
    replies = load_page(replies_query(True), read_window(oldest_first=True), values)
    return {
        "post": serialize.post(post),
        "ancestors": [serialize.post(p) for p in ancestors],
        "replies": serialize.page(replies, serialize.post),
    }


@bp.post("/posts")
@write_limit
def create_post() -> tuple[Json, int, dict[str, str]]:
    """Publish a post."""
    user = token_user(write=True)
    post = posting.publish(user.id, read_post_body())
    return created(post.id)


@bp.post(f"/posts/{POST_ID}/replies")
@write_limit
def reply(post_id: int) -> tuple[Json, int, dict[str, str]]:
    """Publish a reply to a post."""
    user = token_user(write=True)
    parent = live_post(post_id)
    body = read_post_body()
    assert parent.user_id is not None
    refuse_if_blocked(user, parent.user_id, "reply to this post")
    try:
        new = posting.publish(user.id, body, reply_to=parent)
    except IntegrityError:  # deleted a moment ago
        db.session.rollback()
        raise Problem(404, "no-such-post", f"Post {post_id} was just deleted.") from None
    return created(new.id)


def created(post_id: int) -> tuple[Json, int, dict[str, str]]:
    """Answer 201 with the new post as the API shows it, and its address."""
    query = posts_query(True).where(Post.id == post_id)
    post = db.session.scalars(query, binds(current_user.id)).one()
    location = f"{bp.url_prefix}/posts/{post_id}"
    return serialize.post(post), 201, {"Location": location}


def own_post(user: User, post_id: int) -> Post:
    """Return the owner's post; anyone else's is a 404, as on the pages."""
    mine = Post.id == post_id, Post.user_id == user.id
    post: Post | None = db.session.scalars(posts_query(True).where(*mine), binds(user.id)).first()
    if post is None:
        raise Problem(404, "no-such-post", f"You have no post {post_id}.")
    return post


@bp.patch(f"/posts/{POST_ID}")
def edit_post(post_id: int) -> Json:
    """Change the text of one's own post; the earlier text goes to its history."""
    user = token_user(write=True)
    post = own_post(user, post_id)
    posting.edit(post, read_post_body())
    return serialize.post(own_post(user, post_id))


@bp.delete(f"/posts/{POST_ID}")
def delete_post(post_id: int) -> tuple[str, int]:
    """Delete one's own post (its replies stay)."""
    user = token_user(write=True)
    posting.delete(own_post(user, post_id))
    return "", 204


@bp.route(f"/posts/{POST_ID}/like", methods=["PUT", "DELETE"])
def like(post_id: int) -> tuple[str, int]:
    """Like a post (PUT) or stop liking it (DELETE); either again is harmless."""
    user = token_user(write=True)
    post = live_post(post_id)
    assert post.user_id is not None
    if request.method == "PUT":
        refuse_if_blocked(user, post.user_id, "like this post")
    try:
        (posting.like if request.method == "PUT" else posting.unlike)(user.id, post)
    except IntegrityError:  # deleted a moment ago
        db.session.rollback()
        raise Problem(404, "no-such-post", f"Post {post_id} was just deleted.") from None
    return "", 204


@bp.route("/users/<nickname:nickname>/follow", methods=["PUT", "DELETE"])
def follow(nickname: str) -> tuple[str, int]:
    """Follow someone (PUT) or stop following them (DELETE); either again is harmless."""
    user = token_user(write=True)
    other: User = db.first_or_404(sa.select(User).where(User.nickname == nickname))
    if request.method == "DELETE":
        relations.unfollow(user.id, other.id)
        return "", 204
    if other.id == user.id:
        raise Problem(422, "follow-yourself", "You cannot follow yourself.")
    refuse_if_blocked(user, other.id, f"follow {nickname}")
    relations.follow(user.id, other.id)
    return "", 204
