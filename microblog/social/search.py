"""Search: reading what people type, and the database's own full-text engine over posts.

SQLite answers from an FTS5 table (post_fts), PostgreSQL from a tsvector column with a GIN
index (post.search_vector): both built by migration 0007 and kept current by the database
itself (triggers, a generated column), so that no write path can forget them. Neither is in
the models: `include_name` keeps the schema check to what the models describe.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import User
from ..nicknames import NICKNAME_RE
from .models import Mention, Post, PostTag
from .queries import hidden_authors, posts_query
from .tags import normalise, tag_part

QUERY_MAX_CHARS = 200
TERMS_MAX = 12
# The newest matches that are ranked: a bound on the work a common word can cost. Rare words
# have fewer matches than this, so they are all ranked.
CANDIDATES = 1000
PEOPLE_SHOWN = 5
# A phrase in quotes (its closing quote may be missing), or a run of anything but spaces.
TERM_RE = re.compile(r'"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+)')
# The search indexes' own tables (FTS5's shadow tables with them) and PostgreSQL's parts.
SEARCH_TABLES = {
    f"{table}{part}"
    for table in ("post_fts", "user_fts")
    for part in ("", "_config", "_data", "_docsize", "_idx")
}
SEARCH_INDEXES = {"ix_post_search_vector", "ix_user_display_name_search"}


class SearchProblem(ValueError):
    """What someone typed cannot be searched for; the message says why, for them to read."""


@dataclass
class Search:
    """A search as typed, read into its parts: each part must match (AND)."""

    text: str = ""
    phrases: list[str] = field(default_factory=list)  # words too: a phrase of one or more
    tags: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)  # from:nickname, any of them

    @property
    def empty(self) -> bool:
        return not (self.phrases or self.tags or self.mentions or self.authors)


def words_of(text: str) -> list[str]:
    """Split text into the words both engines index: letters, digits and marks, lowercased."""
    words, current = [], []
    for c in unicodedata.normalize("NFC", text):
        if unicodedata.category(c)[0] in "LNM":
            current.append(c)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return [w.lower() for w in words]  # not casefold: neither engine folds ß into ss


def parse(unsafe_text: str) -> Search:
    """Read a search: words, "phrases", #tag, @nickname, from:nickname; SearchProblem if too big."""
    text = "".join(c for c in unsafe_text if unicodedata.category(c)[0] != "C").strip()
    if len(text) > QUERY_MAX_CHARS:
        raise SearchProblem(
            f"Searches can be {QUERY_MAX_CHARS} characters at most; this one has {len(text)}."
        )
    search = Search(text=text)
    for match in TERM_RE.finditer(text):
        _add_term(search, match.group("phrase"), match.group("word"))
    terms = len(search.phrases) + len(search.tags) + len(search.mentions) + len(search.authors)
    if terms > TERMS_MAX:
        raise SearchProblem(f"Search for {TERMS_MAX} words at most; this search has {terms}.")
    return search


def _add_term(search: Search, phrase: str | None, word: str | None) -> None:
    if word is not None:
        lowered = word.lower()
        if lowered.startswith("from:") and NICKNAME_RE.fullmatch(lowered[5:]):
            search.authors.append(lowered[5:])
            return
        if word.startswith("@") and NICKNAME_RE.fullmatch(lowered[1:]):
            search.mentions.append(lowered[1:])
            return
        if word.startswith("#") and (tag := tag_part(word[1:])) and tag == word[1:]:
            search.tags.append(normalise(tag))
            return
        phrase = word
    if words := words_of(phrase or ""):
        search.phrases.append(" ".join(words))


def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """Leave the search index, which the models do not describe, out of the schema check."""
    if type_ == "table":
        return name not in SEARCH_TABLES
    if type_ == "column":
        return not (parent_names.get("table_name") == "post" and name == "search_vector")
    return not (type_ == "index" and name in SEARCH_INDEXES)


def _filters(search: Search) -> list[sa.ColumnElement[bool]]:
    """The conditions other than words: tags, mentions, authors."""
    conditions: list[sa.ColumnElement[bool]] = [Post.user_id.is_not(None)]
    # IN, not EXISTS: the database may then read a rare tag's posts from its index first.
    for tag in search.tags:
        conditions.append(Post.id.in_(sa.select(PostTag.post_id).where(PostTag.tag == tag)))
    for nickname in search.mentions:
        named = sa.select(User.id).where(User.nickname == nickname).scalar_subquery()
        conditions.append(Post.id.in_(sa.select(Mention.post_id).where(Mention.user_id == named)))
    if search.authors:
        authors = sa.select(User.id).where(User.nickname.in_(search.authors))
        conditions.append(Post.user_id.in_(authors))
    return conditions


def candidates(search: Search, viewer_id: int | None) -> sa.Subquery:
    """Select the newest CANDIDATES matching posts' ids, each with a score (higher is better)."""
    conditions = _filters(search)
    if viewer_id is not None:
        conditions.append(Post.user_id.not_in(hidden_authors(viewer_id)))
    if not search.phrases:  # no words to rank by: newest first
        query = sa.select(Post.id, sa.literal(0).label("score")).where(*conditions)
        newest = query.order_by(Post.created_at.desc(), Post.id.desc())
        return newest.limit(CANDIDATES).subquery("found")
    if db.engine.dialect.name == "postgresql":
        return _postgresql(search.phrases, conditions)
    if search.authors:
        return _sqlite_by_author(search.phrases, conditions)
    return _sqlite(search.phrases, conditions)


def _sqlite_match(phrases: list[str]) -> str:
    """Every phrase in double quotes, of words only: FTS5 reads no operator in that."""
    return " ".join(f'"{phrase}"' for phrase in phrases)


def _sqlite(phrases: list[str], conditions: list[sa.ColumnElement[bool]]) -> sa.Subquery:
    match = _sqlite_match(phrases)
    fts = sa.table("post_fts", sa.column("rowid", sa.Integer))
    table: sa.ColumnElement[Any] = sa.literal_column("post_fts")
    query = (
        sa.select(fts.c.rowid.label("id"), (-sa.func.bm25(table)).label("score"))
        .join(Post, Post.id == fts.c.rowid)
        .where(table.op("MATCH")(match), *conditions)
    )
    # FTS5 walks its matches by rowid, newest first, and stops at the limit.
    return query.order_by(fts.c.rowid.desc()).limit(CANDIDATES).subquery("found")


def _sqlite_by_author(phrases: list[str], conditions: list[sa.ColumnElement[bool]]) -> sa.Subquery:
    """Walk the authors' posts, newest first, asking FTS5 about each: one person writes far
    fewer posts than a common word is in (PostgreSQL's planner makes that choice itself)."""
    fts = sa.table("post_fts", sa.column("rowid", sa.Integer)).alias("post_fts")
    table: sa.ColumnElement[Any] = sa.literal_column("post_fts")

    def in_fts(column: sa.ColumnElement[Any]) -> sa.Select[Any]:
        return sa.select(column).where(
            table.op("MATCH")(_sqlite_match(phrases)), fts.c.rowid == Post.id
        )

    score = sa.literal(0)  # in_fts(-sa.func.bm25(table)).scalar_subquery()
    query = sa.select(Post.id, score.label("score")).where(
        sa.exists(in_fts(sa.literal(1))), *conditions
    )
    newest = query.order_by(Post.created_at.desc(), Post.id.desc())
    return newest.limit(CANDIDATES).subquery("found")


def _postgresql(phrases: list[str], conditions: list[sa.ColumnElement[bool]]) -> sa.Subquery:
    vector: sa.ColumnElement[Any] = sa.literal_column("post.search_vector")
    terms = [sa.func.phraseto_tsquery("simple", p) for p in phrases]
    ts_query: sa.ColumnElement[Any] = terms[0]
    for term in terms[1:]:
        ts_query = ts_query.op("&&")(term)
    query = sa.select(Post.id, sa.func.ts_rank(vector, ts_query).label("score")).where(
        vector.op("@@")(ts_query), *conditions
    )
    return query.order_by(Post.id.desc()).limit(CANDIDATES).subquery("found")


def search_posts(search: Search, viewer_id: int | None, page: int, size: int) -> list[Post]:
    """Load page `page` (from 1) of the posts matching search, best first, one more than size."""
    found = candidates(search, viewer_id)
    ranked = (
        posts_query(viewer_id)
        .join(found, found.c.id == Post.id)
        .order_by(found.c.score.desc(), Post.created_at.desc(), Post.id.desc())
        .offset((page - 1) * size)
        .limit(size + 1)
    )
    return list(db.session.scalars(ranked))
