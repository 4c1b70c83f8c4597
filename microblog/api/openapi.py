"""The API's OpenAPI 3.1 description at /api/v1/openapi.json; the tests check the API by it."""

from __future__ import annotations

from typing import Any

from flask import current_app

from ..social.text import POST_MAX_CHARS
from .problems import MEDIA_TYPE
from .views import bp

Json = dict[str, Any]
NICKNAME = {"type": "string", "pattern": "^[A-Za-z0-9_]{1,24}$"}
POST_ID = {"type": "integer", "minimum": 1, "maximum": 2147483647}
CURSOR = {"type": ["string", "null"], "description": "Pass as `before` (older) or `after`."}
TIME = {"type": "string", "format": "date-time"}


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> Json:
    return {"description": description, "content": {MEDIA_TYPE: {"schema": _ref("Problem")}}}


def _json(description: str, schema: Json) -> Json:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": _problem("A broken cursor or a malformed request."),
    "401": _problem("No valid token: send `Authorization: Bearer <token>`."),
    "404": _problem("No such person or post, or not one the token's owner may see."),
    "429": _problem("Too many requests with this token; see Retry-After."),
}
WRITE_ERRORS = {
    **ERRORS,
    "403": _problem("The token may only read, or one of the two people blocked the other."),
}
BODY_ERRORS = {
    **WRITE_ERRORS,
    "415": _problem("The body is not JSON."),
    "422": _problem("The post's text is missing, empty or too long."),
}
SEEN_ERRORS = {
    **WRITE_ERRORS,
    "403": _problem("The token may only read."),
    "415": _problem("The body is not JSON."),
    "422": _problem("`up_to` is not a notification id."),
}
SEEN_BODY = {
    "required": False,
    "content": {"application/json": {"schema": _ref("SeenUpTo")}},
}
PAGE_PARAMS = [
    {"name": "before", "in": "query", "schema": {"type": "string"}, "description": "Older page"},
    {"name": "after", "in": "query", "schema": {"type": "string"}, "description": "Newer page"},
]
POST_BODY = {
    "required": True,
    "content": {"application/json": {"schema": _ref("NewPost")}},
}


def _path_param(name: str, schema: Json) -> Json:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _op(op_id: str, summary: str, responses: Json, **more: Any) -> Json:
    return {"operationId": op_id, "summary": summary, "responses": responses, **more}


def _page_of(item: str) -> Json:
    return {
        "type": "object",
        "required": ["items", "newer", "older"],
        "properties": {"items": {"type": "array", "items": _ref(item)}, "newer": CURSOR,
                       "older": CURSOR},
    }  # fmt: skip


def _paths() -> Json:
    nick, post = _path_param("nickname", NICKNAME), _path_param("post_id", POST_ID)
    done = {"204": {"description": "Done (doing it again is harmless)."}}
    created = {"201": _json("The new post.", _ref("Post"))}
    return {
        "/timeline": {"get": _op("timeline", "Posts of whom the owner follows, and theirs",
                                 {"200": _json("A page of posts", _ref("PostPage")), **ERRORS},
                                 parameters=PAGE_PARAMS)},
        "/explore": {"get": _op("explore", "Everyone's posts",
                                {"200": _json("A page of posts", _ref("PostPage")), **ERRORS},
                                parameters=PAGE_PARAMS)},
        "/users/{nickname}": {"get": _op("user", "A person, their counts and standing",
                                         {"200": _json("The person", _ref("Profile")), **ERRORS},
                                         parameters=[nick])},
        "/users/{nickname}/posts": {"get": _op(
            "user_posts", "A person's posts",
            {"200": _json("A page of posts", _ref("PostPage")), **ERRORS},
            parameters=[nick, *PAGE_PARAMS])},
        "/users/{nickname}/follow": {
            "parameters": [nick],
            "put": _op("follow", "Follow someone",
                       {**done, **WRITE_ERRORS, "422": _problem("Following oneself.")}),
            "delete": _op("unfollow", "Stop following someone", {**done, **WRITE_ERRORS}),
        },
        "/posts": {"post": _op("create_post", "Publish a post", {**created, **BODY_ERRORS},
                               requestBody=POST_BODY)},
        "/posts/{post_id}": {
            "parameters": [post],
            "get": _op("thread", "A post, what it replies to, and a page of its replies",
                       {"200": _json("The thread", _ref("Thread")), **ERRORS},
                       parameters=PAGE_PARAMS),
            "patch": _op("edit_post", "Change one's own post's text",
                         {"200": _json("The post", _ref("Post")), **BODY_ERRORS},
                         requestBody=POST_BODY),
            "delete": _op("delete_post", "Delete one's own post",
                          {"204": {"description": "Deleted"}, **WRITE_ERRORS}),
        },
        "/posts/{post_id}/replies": {"post": _op(
            "reply", "Reply to a post", {**created, **BODY_ERRORS},
            parameters=[post], requestBody=POST_BODY)},
        "/posts/{post_id}/like": {
            "parameters": [post],
            "put": _op("like", "Like a post", {**done, **WRITE_ERRORS}),
            "delete": _op("unlike", "Stop liking a post", {**done, **WRITE_ERRORS}),
        },
        "/notifications": {"get": _op(
            "notifications", "Mentions, replies, likes and follows, newest first, and how "
            "many are unread (reading marks nothing seen)",
            {"200": _json("A page of notifications", _ref("NotificationPage")), **ERRORS},
            parameters=PAGE_PARAMS)},
        "/notifications/seen": {"post": _op(
            "notifications_seen", "Mark notifications seen, as the page does: all of them, or "
            "those up to `up_to` (the newest one the app showed)",
            {"200": _json("What is still unread", _ref("Unread")), **SEEN_ERRORS},
            requestBody=SEEN_BODY)},
    }  # fmt: skip


def _schemas() -> Json:
    person = {
        "type": "object",
        "required": ["nickname", "display_name", "url"],
        "properties": {"nickname": {"type": "string"}, "display_name": {"type": "string"},
                       "url": {"type": "string"}},
    }  # fmt: skip
    shown = {
        "type": "object",
        "required": ["id", "author", "body", "created_at", "edited_at", "reply_to",
                     "like_count", "reply_count", "liked", "url"],
        "properties": {
            "id": {"type": "integer"}, "author": _ref("Person"), "body": {"type": "string"},
            "created_at": TIME, "edited_at": {"type": ["string", "null"], "format": "date-time"},
            "reply_to": {"type": ["integer", "null"]}, "like_count": {"type": "integer"},
            "reply_count": {"type": "integer"}, "liked": {"type": "boolean"},
            "url": {"type": "string"},
        },
    }  # fmt: skip
    placeholder = {
        "type": "object",
        "description": "In a thread: a deleted post, or one by someone the owner does not see.",
        "required": ["id", "deleted", "hidden"],
        "properties": {"id": {"type": "integer"}, "deleted": {"type": "boolean"},
                       "hidden": {"type": "boolean"}},
    }  # fmt: skip
    counts = {k: {"type": "integer"} for k in ("posts", "followers", "following")}
    stands = {k: {"type": "boolean"} for k in ("you_follow", "you_blocked", "you_muted")}
    return {
        "Person": person,
        "Post": shown,
        "ThreadPost": {"oneOf": [_ref("Post"), placeholder]},
        "PostPage": _page_of("ThreadPost"),
        "Profile": {"allOf": [_ref("Person"), {
            "type": "object", "required": ["about", "created_at", *counts, *stands],
            "properties": {"about": {"type": "string"}, "created_at": TIME, **counts, **stands},
        }]},
        "Thread": {
            "type": "object", "required": ["post", "ancestors", "replies"],
            "properties": {"post": _ref("Post"),
                           "ancestors": {"type": "array", "items": _ref("ThreadPost")},
                           "replies": _ref("PostPage")},
        },
        "Notification": {
            "type": "object", "required": ["id", "kind", "actor", "post", "created_at", "seen"],
            "properties": {"id": {"type": "integer"},
                           "kind": {"enum": ["mention", "reply", "like", "follow"]},
                           "actor": _ref("Person"), "post": {"type": ["integer", "null"]},
                           "created_at": TIME, "seen": {"type": "boolean"}},
        },
        "NotificationPage": {"allOf": [_page_of("Notification"), _ref("Unread")]},
        "Unread": {
            "type": "object", "required": ["unread"],
            "properties": {"unread": {"type": "integer", "minimum": 0,
                                      "description": "Notifications not seen yet"}},
        },
        "SeenUpTo": {
            "type": "object",
            "properties": {"up_to": {**POST_ID, "description": "A notification's id: it and "
                                     "older ones are marked seen. Leave out for all."}},
        },
        "NewPost": {
            "type": "object", "required": ["body"],
            "properties": {"body": {"type": "string", "minLength": 1,
                                    "maxLength": POST_MAX_CHARS}},
        },
        "Problem": {
            "type": "object", "required": ["type", "title", "status", "detail"],
            "description": "RFC 9457 problem details; `errors` maps fields to what is wrong.",
            "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                           "status": {"type": "integer"}, "detail": {"type": "string"},
                           "errors": {"type": "object",
                                      "additionalProperties": {"type": "string"}},
                           "scope": {"type": "string"}},
        },
    }  # fmt: skip


def document() -> Json:
    """Build the OpenAPI 3.1 document for this site's address."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "microblog API",
            "version": "1",
            "description": "Make a personal access token in Settings → API tokens and send it "
            "as `Authorization: Bearer <token>`. Pages of items carry `newer` and `older` "
            "cursors: pass them back as `after` and `before`. Errors are RFC 9457 problem "
            "details. Cookies are never read or set here.",
        },
        "servers": [{"url": bp.url_prefix}],
        "security": [{"token": []}],
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
    }


@bp.get("/openapi.json")
def openapi_document() -> Json:
    """Send the OpenAPI description (no token needed)."""
    doc = document()
    doc["info"]["x-rate-limit"] = current_app.config["API_RATE_LIMIT"]
    return doc
