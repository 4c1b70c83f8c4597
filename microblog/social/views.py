"""Blueprint for the microblog pages: the front page, the timeline, posting, Explore."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter import RequestLimit
from flask_login import current_user
from werkzeug.wrappers import Response

from .. import identity
from ..security import rate_limit
from . import posting, text
from .pages import login_required, read_window, viewer_id
from .paging import Window, load_page
from .queries import posts_query, timeline_authors

bp = Blueprint("views", __name__)
FRONT_PAGE_POSTS = 10


@bp.get("/")
def index() -> str:
    """Show the home timeline, or to visitors what this site is."""
    if not current_user.is_authenticated:
        return front_page()
    return render_home()


def front_page() -> str:
    """Show visitors what the site is, its latest public posts and the ways to sign in."""
    page = load_page(posts_query(), Window(None, None, FRONT_PAGE_POSTS))
    providers = [p for p in identity.all_providers() if p.ready]
    return render_template("views/front.html", page=page, providers=providers)


def _posting_too_fast(limit: RequestLimit) -> Response:
    """Show the form again with the text kept: a rate limit must not eat a post."""
    message = "You are posting faster than the site allows. Wait a moment, then send it again."
    return make_response(render_home(request.form.get("body", ""), message), 429)


@bp.post("/")
@login_required
@rate_limit("POST_RATE_LIMIT", per_user=True, on_breach=_posting_too_fast)
def create_post() -> Response | tuple[str, int]:
    """Publish a post, or show the form again with the text kept and what to fix."""
    unsafe_body = request.form.get("body", "")
    body = text.clean_text(unsafe_body)
    if error := text.post_problem(body):
        return render_home(unsafe_body, error), 422
    posting.publish(current_user.id, body)
    flash("Your post is published.", "success")
    return redirect(url_for("views.index"))


def render_home(body: str = "", error: str | None = None) -> str:
    """Render the home page: the form holding body (and error), then the timeline."""
    authors = timeline_authors(current_user.id)
    page = load_page(posts_query(current_user.id), read_window(), authors=authors)
    return render_template("views/index.html", page=page, body=body, error=error)


@bp.get("/explore")
def explore() -> str:
    """Show everyone's posts (but those of people the viewer does not see)."""
    page = load_page(posts_query(viewer_id()), read_window())
    return render_template("views/explore.html", page=page)


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Send the site's icon, which browsers ask for at this address whatever the page says."""
    return current_app.send_static_file("favicon.ico")
