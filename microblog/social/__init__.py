"""Social: the microblog itself, posts, follows, timelines, profiles and settings."""

from __future__ import annotations

from flask import Flask

from .. import identity


def init_app(app: Flask) -> None:
    """Register the nickname URL converter, the template helpers and the pages."""
    from . import (
        avatars,
        merge,
        settings,  # noqa: F401 - its routes join the pages' blueprint
        text,
        views,
    )
    from .converters import NicknameConverter

    app.url_map.converters["nickname"] = NicknameConverter  # before the rules that use it
    app.add_template_filter(text.render_text, "rich_text")
    app.add_template_filter(text.timeago, "timeago")
    app.add_template_filter(text.iso_utc, "iso_utc")
    app.add_template_filter(text.exact_utc, "exact_utc")
    app.add_template_filter(text.long_date, "long_date")
    app.add_template_global(avatars.avatar_url, "avatar_url")
    app.add_template_global(text.profile_url, "profile_url")
    app.register_blueprint(views.bp)
    identity.on_account_merge(app, merge.move_account)  # posts and follows move too
