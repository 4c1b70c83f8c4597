"""Search: reading what people type, and the database's own full-text engine over posts.

SQLite answers from FTS5 tables (post_fts, user_fts), PostgreSQL from a tsvector column
(post.search_vector), a column of each post's word pairs (post.word_pairs) and GIN indexes:
built by migrations 0007 and 0011 and kept current by the database itself (triggers,
generated columns), so that no write path can forget them. None is in the models:
`include_name` keeps the schema check to what the models describe.

The trade-off, for speed at any size: only the newest CANDIDATES matches are ranked (by how
much of a post the words make up), so a common word costs no more than a rare one, and a
better match older than those is not shown. Finding them is what costs: FTS5 walks each
word's postings newest first and stops; PostgreSQL either walks the posts newest first,
checking each (cheap when matches are dense), or reads the GIN index (when they are rare),
as its planner judges. Two cases it judged badly: a phrase of common words (rare as a phrase,
but each word in many posts), found now by its word pairs; and statements prepared by psycopg,
whose generic plan knew no terms, so terms, limits and the configuration are written in. Left
slowest: words that are each common and together in about 2% of the posts (a walk of 50
posts for each match: 30-40 ms at 1M posts on PostgreSQL, 12 ms on SQLite).
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
from .queries import binds, hidden_authors, posts_query
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
SEARCH_INDEXES = {"ix_post_search_vector", "ix_post_word_pairs", "ix_user_display_name_search"}
SEARCH_COLUMNS = {"search_vector", "word_pairs"}


# Written into the statement: a bound configuration would leave a prepared statement's
# generic plan (psycopg prepares one run five times) without the query to plan for.
SIMPLE: sa.ColumnElement[Any] = sa.literal_column("'simple'::regconfig")


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
        return not (parent_names.get("table_name") == "post" and name in SEARCH_COLUMNS)
    return not (type_ == "index" and name in SEARCH_INDEXES)


def _filters(search: Search, post_id: Any) -> list[sa.ColumnElement[bool]]:
    """The conditions other than words (tags, mentions, authors), each on the post's id.

    IN lists, built once: FTS5 can then check each match against them before it reads the post,
    and for a search without words the database may start from a rare tag's index. (FTS5 gets
    `rowid + 0`, not `rowid`: given `rowid IN (...)` SQLite runs one FTS5 query per id.)
    """
    conditions: list[sa.ColumnElement[bool]] = []
    for tag in search.tags:
        has_tag = PostTag.tag == _value(tag)
        conditions.append(post_id.in_(sa.select(PostTag.post_id).where(has_tag)))
    for nickname in search.mentions:
        named = sa.select(User.id).where(User.nickname == _value(nickname)).scalar_subquery()
        conditions.append(post_id.in_(sa.select(Mention.post_id).where(Mention.user_id == named)))
    if search.authors:
        authors = sa.select(User.id).where(User.nickname.in_([_value(n) for n in search.authors]))
        if post_id is Post.id:  # by the authors' own index
            conditions.append(Post.user_id.in_(authors))
        else:
            conditions.append(post_id.in_(sa.select(Post.id).where(Post.user_id.in_(authors))))
    return conditions


def _value(text: str) -> sa.BindParameter[str]:
    """A search term written into the statement, not sent beside it.

    psycopg prepares a statement run five times on a connection, and PostgreSQL may then
    plan it once for any tag or word: the plan for a rare one walks a common one's posts
    (measured: 3 ms became 30-40). Written in, each search is planned for its own terms.
    Safe: terms are letters, digits, marks and spaces (words_of, tag_part, NICKNAME_RE),
    and SQLAlchemy quotes them as literals.
    """
    return sa.bindparam(None, text, type_=sa.String(), literal_execute=True)


def _number(n: int) -> sa.BindParameter[int]:
    """A limit written into the statement: planned for it, as _value's terms are."""
    return sa.bindparam(None, n, type_=sa.Integer(), literal_execute=True)


def _visible(viewer_id: int | None) -> list[sa.ColumnElement[bool]]:
    """The posts a viewer may see: not deleted, not by someone they do not see."""
    conditions: list[sa.ColumnElement[bool]] = [Post.user_id.is_not(None)]
    if viewer_id is not None:
        conditions.append(Post.user_id.not_in(hidden_authors()))
    return conditions


def candidates(search: Search, viewer_id: int | None) -> sa.Subquery:
    """Select the newest CANDIDATES matching posts' ids, each with a score (higher is better)."""
    visible = _visible(viewer_id)
    if not search.phrases:  # no words to rank by: newest first
        query = sa.select(Post.id, Post.created_at, sa.literal(0).label("score"))
        query = query.where(*_filters(search, Post.id), *visible)
        newest = query.order_by(Post.created_at.desc(), Post.id.desc())
        return newest.limit(_number(CANDIDATES)).subquery("found")
    if db.engine.dialect.name == "postgresql":
        return _postgresql(search, _filters(search, Post.id) + visible)
    return _sqlite(search, visible)


def _sqlite(search: Search, visible: list[sa.ColumnElement[bool]]) -> sa.Subquery:
    # Every phrase in double quotes, of words only: FTS5 reads no operator in that.
    match = " ".join(f'"{phrase}"' for phrase in search.phrases + _tag_words(search.tags))
    fts = sa.table("post_fts", sa.column("rowid", sa.Integer))
    table: sa.ColumnElement[Any] = sa.literal_column("post_fts")
    query = (
        sa.select(
            fts.c.rowid.label("id"), Post.created_at, _coverage(search.phrases).label("score")
        )
        .join(Post, Post.id == fts.c.rowid)
        .where(table.op("MATCH")(match), *_filters(search, fts.c.rowid + 0), *visible)
    )
    # FTS5 walks its matches by rowid, newest first, and stops at the limit.
    return query.order_by(fts.c.rowid.desc()).limit(_number(CANDIDATES)).subquery("found")


def _tag_words(tags: list[str]) -> list[str]:
    """The words a post carrying these tags has in its text (#v2_beta: "v2 beta"), for the
    engine to narrow the search with its own index first; post_tag still decides. ASCII tags
    only: each engine lowercases other scripts by rules of its own."""
    return [" ".join(words_of(tag)) for tag in tags if tag.isascii() and words_of(tag)]


def _coverage(phrases: list[str]) -> sa.ColumnElement[Any]:
    """Score a post by how much of its text the search words make up.

    Not FTS5's bm25(): that counts every match in the table for each word on every search (a
    common word's count is most of the time of the query), where this reads only the
    candidates. PostgreSQL's ts_rank reads only the row too.
    """
    body = sa.func.lower(Post.body)
    covered = [
        sa.func.length(body) - sa.func.length(sa.func.replace(body, word, ""))
        for word in {w for phrase in phrases for w in phrase.split()}
    ]
    total = sum(covered[1:], covered[0])
    return sa.cast(total, sa.Float) / (sa.func.length(Post.body) + 1)


def _postgresql(search: Search, conditions: list[sa.ColumnElement[bool]]) -> sa.Subquery:
    vector: sa.ColumnElement[Any] = sa.literal_column("post.search_vector")
    score = sa.func.ts_rank(vector, _tsquery(search.phrases)).label("score")
    # A phrase of common words is in few posts, but each word is in many: its pairs (migration
    # 0011) find those few in the pairs' GIN index, and tell the planner how few. The phrase
    # is then checked on them alone, on an expression that index does not cover: read from
    # the words' index too, each word's many posts would cost more than all the rest.
    phrases = [p for p in search.phrases if " " in p]
    # Single words, and the tag's words (post_tag still decides, as on SQLite), by that index.
    words = [p for p in search.phrases if " " not in p] + _tag_words(search.tags)
    where = list(conditions)
    if words:
        where.append(vector.op("@@")(_tsquery(words)))
    if phrases:
        pairs: sa.ColumnElement[Any] = sa.func.post_word_pairs(_value(phrases[0]))
        for phrase in phrases[1:]:
            pairs = pairs.op("||")(sa.func.post_word_pairs(_value(phrase)))
        where.append(sa.literal_column("post.word_pairs").op("@>")(pairs))
        unindexed = sa.func.coalesce(vector, sa.literal_column("''::tsvector"))
        where.append(unindexed.op("@@")(_tsquery(phrases)))
    query = sa.select(Post.id, Post.created_at, score).where(*where)
    return query.order_by(Post.id.desc()).limit(_number(CANDIDATES)).subquery("found")


def _tsquery(phrases: list[str]) -> sa.ColumnElement[Any]:
    """Match all these phrases (of one word or more), in PostgreSQL's terms."""
    terms = [sa.func.phraseto_tsquery(SIMPLE, _value(p)) for p in phrases]
    query: sa.ColumnElement[Any] = terms[0]
    for term in terms[1:]:
        query = query.op("&&")(term)
    return query


def search_posts(search: Search, viewer_id: int | None, page: int, size: int) -> list[Post]:
    """Load page `page` (from 1) of the posts matching search, best first, one more than size."""
    found = candidates(search, viewer_id)
    # The page's ids first (by score, then newest): the counts and names only for those.
    best = (
        sa.select(found.c.id, found.c.score, found.c.created_at)
        .order_by(found.c.score.desc(), found.c.created_at.desc(), found.c.id.desc())
        .offset(_number((page - 1) * size))
        .limit(_number(size + 1))
        .subquery("best")
    )
    query = posts_query(viewer_id is not None).join(best, best.c.id == Post.id)
    order = best.c.score.desc(), best.c.created_at.desc(), best.c.id.desc()
    return list(db.session.scalars(query.order_by(*order), binds(viewer_id)))
