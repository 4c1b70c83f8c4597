"""One post's pages: its thread, replying, editing and its history, deleting, likes."""

from __future__ import annotations

import flask
import sqlalchemy as sa
from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_limiter import RequestLimit
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from ..extensions import db
from ..security import rate_limit
from . import posting, relations, text
from .models import Post, PostEdit
from .pages import back_to, read_window, viewer_id
from .paging import load_page
from .queries import binds, posts_query, replies_query, thread_query
from .rows import load_posts
from .views import bp

POST_ID = "<int(min=1, max=2147483647):post_id>"  # what a PostgreSQL INTEGER holds
CANNOT_REPLY = "You cannot reply to this post."


@bp.get(f"/p/{POST_ID}")
def thread(post_id: int) -> str:
    """Show a post with the posts it replies to, its replies and a reply form."""
    return render_thread(post_id)


def render_thread(post_id: int, body: str = "", error: str | None = None) -> str:
    """Render a thread page, the reply form holding body (and error)."""
    viewer = viewer_id()
    values = binds(viewer, post_id=post_id)
    chain = load_posts(thread_query(viewer is not None), values)
    if not chain or (chain[-1].author is not None and chain[-1].author.suspended_at):
        abort(404)  # a suspended person's posts are gone until they are restored
    *ancestors, post = chain
    replies = replies_query(viewer is not None)
    page = load_page(replies, read_window(oldest_first=True), values)
    return render_template(
        "views/thread.html", post=post, ancestors=ancestors, page=page, body=body, error=error
    )


def _replying_too_fast(limit: RequestLimit) -> flask.Response:
    """Show the thread again with the reply kept: a rate limit must not eat it."""
    message = "You are posting faster than the site allows. Wait a moment, then send it again."
    page = render_thread(
        (request.view_args or {})["post_id"], request.form.get("body", ""), message
    )
    return make_response(page, 429)


@bp.post(f"/p/{POST_ID}/reply")
@login_required
@rate_limit("POST_RATE_LIMIT", per_user=True, on_breach=_replying_too_fast)
def reply(post_id: int) -> Response | tuple[str, int]:
    """Publish a reply, or show the thread again with the text kept and what to fix."""
    parent = db.first_or_404(sa.select(Post).where(Post.id == post_id, Post.user_id.is_not(None)))
    unsafe_body = request.form.get("body", "")
    body = text.clean_text(unsafe_body)
    if error := text.post_problem(body):
        return render_thread(post_id, unsafe_body, error), 422
    assert parent.user_id is not None
    if relations.blocked_either_way(current_user.id, parent.user_id):
        return render_thread(post_id, unsafe_body, CANNOT_REPLY), 403
    try:
        new = posting.publish(current_user.id, body, reply_to=parent)
    except IntegrityError:  # deleted a moment ago
        db.session.rollback()
        abort(404)
    flash("Your reply is published.", "success")
    return redirect(url_for("views.thread", post_id=new.id))


def own_post(post_id: int) -> Post:
    """Return the signed-in person's post; anyone else's is a 404, as if it did not exist."""
    mine = posts_query(True).where(Post.id == post_id, Post.user_id == current_user.id)
    return post_or_404(mine, binds(current_user.id))


def post_or_404(query: sa.Select[Post], values: dict[str, object]) -> Post:
    """Return the post a query finds, or answer 404."""
    post = db.session.scalars(query, values).first()
    if post is None:
        abort(404)
    return post


@bp.route(f"/p/{POST_ID}/edit", methods=["GET", "POST"])
@login_required
def edit(post_id: int) -> str | Response | tuple[str, int]:
    """Edit one's own post; its earlier text goes to its history."""
    post = own_post(post_id)
    if request.method == "GET":
        return render_template("views/edit.html", post=post, body=post.body, error=None)
    unsafe_body = request.form.get("body", "")
    body = text.clean_text(unsafe_body)
    if error := text.post_problem(body):
        return render_template("views/edit.html", post=post, body=unsafe_body, error=error), 422
    changed = posting.edit(post, body)
    flash("Your post is saved." if changed else "Nothing changed.", "success")
    return redirect(url_for("views.thread", post_id=post_id))


@bp.get(f"/p/{POST_ID}/history")
def history(post_id: int) -> str:
    """List a post's earlier versions, latest first."""
    viewer = viewer_id()
    post = post_or_404(posts_query(viewer is not None).where(Post.id == post_id), binds(viewer))
    window = read_window()
    query = window.apply(
        sa.select(PostEdit).where(PostEdit.post_id == post_id), PostEdit.created_at, PostEdit.id
    )
    page = window.page(db.session.scalars(query).all(), lambda v: (v.created_at, v.id))
    return render_template("views/history.html", post=post, page=page)


@bp.post(f"/p/{POST_ID}/delete")
@login_required
def delete(post_id: int) -> str | Response:
    """Ask first; once confirmed, delete one's own post (its replies stay)."""
    post = own_post(post_id)
    back = back_to(url_for("views.index"))
    if request.form.get("confirm") != "yes":
        return render_template("views/delete.html", post=post, back=back)
    posting.delete(post)
    flash("Your post is deleted.", "success")
    if back.startswith(url_for("views.thread", post_id=post_id)):
        back = url_for("views.index")  # the page it came from may be gone with it
    return redirect(back)


@bp.post(f"/p/{POST_ID}/<any(like, unlike):action>")
@login_required
def like(post_id: int, action: str) -> Response:
    """Like a post or stop liking it, then go back to the page that asked."""
    post = db.first_or_404(sa.select(Post).where(Post.id == post_id, Post.user_id.is_not(None)))
    assert post.user_id is not None
    if action == "like" and relations.blocked_either_way(current_user.id, post.user_id):
        flash("You cannot like this post.", "error")
    else:
        try:
            getattr(posting, action)(current_user.id, post)
        except IntegrityError:  # deleted a moment ago
            db.session.rollback()
            abort(404)
    back = back_to(url_for("views.thread", post_id=post_id))
    return redirect(back if "#" in back else f"{back}#p{post_id}")
