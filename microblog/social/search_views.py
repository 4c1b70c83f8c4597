"""The search page: posts and people for what someone typed."""

from __future__ import annotations

from flask import abort, current_app, render_template, request

from . import search
from .pages import viewer_id
from .people_search import search_people
from .views import bp

PAGE_MAX = search.CANDIDATES  # a bound the page number cannot pass; pages past the end are empty


@bp.get("/search")
def search_page() -> str | tuple[str, int]:
    """Search posts (ranked, a page at a time) and people; a search that cannot run says why."""
    unsafe_text = request.args.get("q", "")
    unsafe_page = request.args.get("page", "1")
    if not (unsafe_page.isascii() and unsafe_page.isdigit() and 1 <= int(unsafe_page) <= PAGE_MAX):
        abort(400, "That page number is broken. Start again from the first page.")
    page = int(unsafe_page)
    try:
        wanted = search.parse(unsafe_text)
    except search.SearchProblem as problem:
        return render_template("search/search.html", q=unsafe_text, error=str(problem)), 400
    if wanted.empty:
        return render_template("search/search.html", q=unsafe_text, posts=None)
    size = current_app.config["POSTS_PER_PAGE"]
    posts = search.search_posts(wanted, viewer_id(), page, size)
    people = search_people(wanted) if page == 1 else []
    return render_template(
        "search/search.html",
        q=wanted.text,
        posts=posts[:size],
        more=len(posts) > size,
        people=people,
        page=page,
    )
