"""Posts as plain rows, for pages that only read them: no ORM instance per post or author.

A page's statement stays the ORM one that queries.py builds (the same SQL); run as the Core
select the ORM compiles it to, each row becomes a PostRow holding its author's AuthorRow.
Building a page's ORM instances (identity map, instrumented attributes) cost more than its
statement (measured: half of load_page on the home page).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from .. import reads
from ..extensions import db
from ..models import User
from ..reads import AnySelect
from .models import Post, PostFacts


@dataclass(slots=True)
class AuthorRow:
    """A post's author as the pages show them (the columns of User)."""

    id: int
    nickname: str
    email: str | None
    display_name: str
    about: str
    picture: str | None
    created_at: datetime
    suspended_at: datetime | None


@dataclass(slots=True)
class PostRow(PostFacts):
    """A post as the pages show it: Post's columns, its author, and what queries.post_details
    loads with it (None where a statement does not)."""

    id: int
    user_id: int | None
    body: str
    created_at: datetime
    reply_to_id: int | None
    edited_at: datetime | None
    author: AuthorRow | None = None
    like_count: int | None = None
    reply_count: int | None = None
    liked: bool | None = None
    hidden: bool | None = None
    mention_map: str | None = None


POST_COLUMNS = tuple(f.name for f in fields(PostRow)[:6])
AUTHOR_COLUMNS = tuple(f.name for f in fields(AuthorRow))
DETAILS = tuple(f.name for f in fields(PostRow)[7:])  # labelled so in queries.post_details


def load_posts(statement: AnySelect, values: Mapping[str, object]) -> list[PostRow]:
    """Run an ORM statement of posts (queries.py's) and return its rows as PostRows."""
    core, read = reader(db.engine.dialect.name, statement)
    return [read(row) for row in reads.rows(core, values)]


@lru_cache(maxsize=256)
def reader(dialect: str, statement: AnySelect) -> tuple[AnySelect, Callable[[Any], PostRow]]:
    """Return the Core select an ORM statement of posts compiles to, and how to read its rows.

    Once per statement (they are built once per process): its columns say what each one is.
    """
    core = reads.core_select(statement)
    where = _positions(core)
    for key in where:
        if not key.startswith(("post.", "author.")) and key not in DETAILS:
            raise ValueError(f"a column posts do not have: {key}")
    return core, _row_reader(where)


def _positions(core: AnySelect) -> dict[str, int]:
    """Where each of a select's columns is: "post.<key>" for Post's, "author.<key>" for User's,
    anything else by its label."""
    where: dict[str, int] = {}
    for index, column in enumerate(core.selected_columns):
        table = getattr(column, "table", None)
        prefix = (
            "post." if table is Post.__table__ else "author." if table is User.__table__ else ""
        )
        where[f"{prefix}{column.key}"] = index
    return where


def _row_reader(where: dict[str, int]) -> Callable[[Sequence[Any]], PostRow]:
    post = itemgetter(*(where[f"post.{name}"] for name in POST_COLUMNS))
    author_id = where.get("author.id")
    author = (
        None if author_id is None else itemgetter(*(where[f"author.{n}"] for n in AUTHOR_COLUMNS))
    )
    details = [(name, where[name]) for name in DETAILS if name in where]

    def read(row: Sequence[Any]) -> PostRow:
        item = PostRow(*post(row))
        if author is not None and row[author_id] is not None:  # type: ignore[index]
            item.author = AuthorRow(*author(row))
        for name, index in details:
            setattr(item, name, row[index])
        return item

    return read


@dataclass(slots=True)
class ProfileRow:
    """A profile's person, their counts and how the viewer stands with them (queries.py's
    profile_query, read as rows like the posts)."""

    user: AuthorRow
    posts: int
    followers: int
    following: int
    is_following: bool
    blocked: bool
    blocks_me: bool
    muted: bool


STANDING = tuple(f.name for f in fields(ProfileRow)[1:])


def load_profile_row(statement: AnySelect, values: Mapping[str, object]) -> ProfileRow | None:
    """Run profile_query's ORM statement; return its one row as a ProfileRow, or None."""
    core, read = profile_reader(db.engine.dialect.name, statement)
    found = reads.rows(core, values)
    return read(found[0]) if found else None


@lru_cache(maxsize=8)
def profile_reader(
    dialect: str, statement: AnySelect
) -> tuple[AnySelect, Callable[[Sequence[Any]], ProfileRow]]:
    """The Core select of a profile statement and how to read its row, once per statement."""
    core = reads.core_select(statement)
    where = _positions(core)
    author = itemgetter(*(where[f"author.{name}"] for name in AUTHOR_COLUMNS))
    standing = itemgetter(*(where[name] for name in STANDING))

    def read(row: Sequence[Any]) -> ProfileRow:
        return ProfileRow(AuthorRow(*author(row)), *standing(row))

    return core, read
