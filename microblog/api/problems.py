"""Errors under /api/ as RFC 9457 problem details (application/problem+json), never pages."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, json, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .. import errors
from ..extensions import db

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "/api/v1/problems/"
# Short titles by status, for the statuses that have no page of their own.
TITLES = {
    401: "Token required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    415: "Unsupported media type",
    422: "Unprocessable content",
}
DETAILS = {
    400: "The request was not understood: check its parameters and body.",
    401: "Send a personal access token as `Authorization: Bearer <token>` (Settings → Tokens).",
    404: "Nothing here: check the address, the id or the nickname.",
    405: "This address does not take that method; the Allow header lists those it takes.",
    413: "The request body is larger than the API accepts.",
    415: "Send the body as JSON, with Content-Type: application/json.",
    429: "Too many requests with this token. Wait as long as Retry-After says, then retry.",
    500: "The server hit an error on its side, and it has been logged. Try again in a moment.",
}


class Problem(HTTPException):
    """An API error with a type, a detail and extra members (field errors, the scope needed)."""

    def __init__(
        self, status: int, kind: str, detail: str, headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:  # fmt: skip
        super().__init__(detail)
        self.code, self.kind, self.extra, self.headers = status, kind, extra, headers or {}


def init_app(app: Flask) -> None:
    """Answer every error under /api/ with a problem document, the rest as errors.py does.

    Registered after errors.init_app: the same codes, so these replace its handlers and hand
    non-API requests back to it. HTTPException catches the codes that have no page.
    """
    for code in errors.PAGES.keys() - {500}:
        app.register_error_handler(code, _or_page(errors.show_error))
    app.register_error_handler(500, _or_page(errors.show_server_error))
    app.register_error_handler(CSRFError, _or_page(errors.show_csrf_error))
    app.register_error_handler(HTTPException, _or_page(lambda error: error))


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def _or_page(page: Any) -> Any:
    def handle(error: HTTPException) -> ResponseReturnValue:
        if not is_api_request():
            result: ResponseReturnValue = page(error)
            return result
        if isinstance(error, InternalServerError) or (error.code or 500) >= 500:
            db.session.rollback()  # as the 500 page does: the next request starts clean
        return problem_response(error)

    return handle


def problem_response(error: HTTPException) -> Response:
    """Render an HTTP error as a problem document, keeping its Allow or Retry-After."""
    status = error.code or 500
    if isinstance(error, Problem):
        kind, extra = error.kind, error.extra
        detail = error.description or DETAILS.get(status, "")
    else:
        kind, extra = "about:blank", {}
        detail = _detail(error, status)
    title = TITLES.get(status) or errors.PAGES.get(status, ("Error", ""))[0]
    body = {"type": kind if kind == "about:blank" else TYPE_BASE + kind, "title": title,
            "status": status, "detail": detail, **extra}  # fmt: skip
    response = Response(json.dumps(body), status, mimetype=MEDIA_TYPE)
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    if isinstance(error, Problem):
        response.headers.update(error.headers)
    return response


def _detail(error: HTTPException, status: int) -> str:
    """Say what happened: the view's own sentence if it gave one, else the status's."""
    if error.description not in (None, type(error).description):
        return error.description or ""
    return DETAILS.get(status, error.description or "")
