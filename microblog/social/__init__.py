"""Social: the microblog itself: posts, threads, likes, follows, notifications, settings."""

from __future__ import annotations

from flask import Flask, g, request

from .. import identity


def init_app(app: Flask) -> None:
    """Register the nickname URL converter, the template helpers and the pages."""
    from . import (  # noqa: F401 - the *_views modules' routes join the pages' blueprint
        avatars,
        cards,
        export_views,
        feed_views,
        merge,
        notification_views,
        notify,
        pages,
        people_views,
        post_views,
        search,
        search_views,
        settings,
        tag_views,
        text,
        views,
    )
    from .converters import NicknameConverter

    app.url_map.converters["nickname"] = NicknameConverter  # before the rules that use it
    app.add_template_filter(text.render_text, "rich_text")
    app.add_template_filter(text.render_post, "post_html")
    app.add_template_filter(text.timeago, "timeago")
    app.add_template_filter(text.time_tag, "time_tag")
    app.add_template_filter(text.iso_utc, "iso_utc")
    app.add_template_filter(text.exact_utc, "exact_utc")
    app.add_template_filter(text.long_date, "long_date")
    app.add_template_global(avatars.avatar_url, "avatar_url")
    app.add_template_global(text.profile_url, "profile_url")
    app.add_template_global(text.person_url, "person_url")
    app.add_template_global(text.person_link, "person_link")
    app.add_template_global(text.post_url, "post_url")
    app.add_template_global(text.fixed_url, "site_url")
    app.add_template_global(pages.unread_notifications, "unread_notifications")
    app.add_template_global(_this_page, "this_page")
    app.jinja_env.globals["POST_MAX_CHARS"] = text.POST_MAX_CHARS
    cards.init_app(app)
    app.register_blueprint(views.bp)
    # The navigation's count of unseen notifications comes with the session record.
    identity.on_page_load(app, notify.unread_for, pages.keep_unread)
    identity.on_account_merge(app, merge.move_account)  # posts, follows and likes move too
    # The search index is the database's own (search.py): migrations leave it out of comparisons.
    app.extensions["migrate"].configure_args["include_name"] = search.include_name


def _this_page() -> str:
    """Return the path and query of this page, for forms that come back to it."""
    here: str | None = g.get("this_page")
    if here is None:
        here = g.this_page = request.full_path.rstrip("?")
    return here
