"""App-wide error pages, in the site's layout."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .extensions import db, login_manager

log = logging.getLogger(__name__)

# code: (title, what happened and what to do next)
PAGES = {
    400: ("Bad request", "Something in that link or form was not right. Go back and try again."),
    403: ("Not allowed", "You do not have permission to do that."),
    404: ("Page not found", "There is nothing here. The link may be mistyped, or the person may "
          "have changed their nickname."),
    405: ("Not possible here", "That page cannot be used that way. Go back and use its buttons "
          "and links."),
    413: ("Too much at once", "What you sent is larger than this site accepts."),
    429: ("Slow down", "There were too many requests in a short time. Wait a minute, then try "
          "again."),
    500: ("Something went wrong", "The site hit an error on its side, and it has been logged. "
          "Please try again in a moment."),
    503: ("Try again in a moment", "The site cannot reach its database just now, so nothing "
          "was saved or shown. Please try again in a moment."),
}  # fmt: skip
# Codes whose views may abort(code, "a more precise sentence") to replace our message.
PRECISE_CODES = frozenset({400, 403, 404})
CSRF_MESSAGE = (
    "That form had expired or did not come from this site, so nothing was done. Go back, "
    "reload the page and send it again: your browser usually keeps what you typed."
)


def init_app(app: Flask) -> None:
    """Show every error in the site's layout, with a sentence that says what to do."""
    for code in PAGES.keys() - {500}:
        app.register_error_handler(code, show_error)
    app.register_error_handler(500, show_server_error)
    # Errors that mean "the database is unreachable or too slow", not "our code is wrong".
    for outage in (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError):
        app.register_error_handler(outage, show_database_outage)
    app.register_error_handler(CSRFError, show_csrf_error)


def show_error(error: HTTPException) -> ResponseReturnValue:
    """Show the friendly page for an HTTP error, or the page a view prepared for it."""
    if error.response is not None:  # e.g. the post form, text kept, when posting too fast
        return error.response
    code = error.code or 500
    title, message = PAGES[code]
    if code in PRECISE_CODES and error.description not in (None, type(error).description):
        message = error.description
    return render_error(error, title, message)


def show_csrf_error(error: CSRFError) -> tuple[str, int, list[tuple[str, str]]]:
    """Explain a refused form without the token jargon."""
    return render_error(error, "Please send that again", CSRF_MESSAGE)


def show_server_error(error: HTTPException) -> ResponseReturnValue:
    """Roll back the failed transaction, then show the 500 page."""
    # The session may hold half a change; the page (and the next request) must not use it.
    db.session.rollback()
    return show_error(error)


def show_database_outage(
    error: sa.exc.SQLAlchemyError,
) -> tuple[str, int, list[tuple[str, str]]]:
    """Say the database is away (503), keeping the text of a sent post to send again."""
    cause = str(getattr(error, "orig", None) or error).strip().splitlines() or [""]
    log.warning("database unavailable: %s: %s", type(error).__name__, cause[0][:200])
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:  # the connection is gone; the pool replaces it
        pass
    # The signed-in person cannot be loaded (or reloaded after the rollback) without the
    # database: this page shows the visitor's layout; their session cookie stays as it was.
    g._login_user = login_manager.anonymous_user()
    title, message = PAGES[503]
    kept = request.form.get("body", "") if request.method == "POST" else ""
    page = render_template(
        "errors/error.html", code=503, title=title, message=message, kept=kept, resend=request.path
    )
    return page, 503, [("Retry-After", "5"), ("Cache-Control", "no-store")]


def render_error(
    error: HTTPException, title: str, message: str
) -> tuple[str, int, list[tuple[str, str]]]:
    """Render the error page in the layout, with the error's status and headers."""
    # Keep the headers the error carries (Allow on 405, Retry-After on 429); the body is ours.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    code = error.code or 500
    page = render_template("errors/error.html", code=code, title=title, message=message)
    return page, code, headers
