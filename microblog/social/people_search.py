"""Finding people: by nickname, by its first letters, and by the words of their display name."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import User
from ..nicknames import NICKNAME_RE
from .search import Search

PEOPLE_SHOWN = 5


def search_people(search: Search) -> list[User]:
    """Load the people a search names: that nickname, then nicknames it starts, then names.

    One statement of three index walks, each stopped at PEOPLE_SHOWN: no scan of the people,
    no sort; the order is made here.
    """
    words = [w for p in search.phrases for w in p.split()]
    names = set(search.mentions + search.authors)
    if words and NICKNAME_RE.fullmatch(words[0]):
        names.add(words[0])
    parts: list[sa.Select[Any]] = []
    if names:
        parts.append(sa.select(User.id).where(User.nickname.in_(names)))
    if words and NICKNAME_RE.fullmatch(words[0]):
        start = words[0]  # a range on the unique index, walked in order
        starting = sa.and_(User.nickname > start, User.nickname < start + "~")
        parts.append(sa.select(User.id).where(starting).order_by(User.nickname))
    if words:
        parts.append(_by_display_name(words))
    if not parts:
        return []
    ids = sa.union_all(*(sa.select(p.limit(PEOPLE_SHOWN).subquery().c.id) for p in parts))
    if db.engine.dialect.name == "postgresql":
        # = ANY(ARRAY(...)): a few primary-key lookups, where for IN PostgreSQL hashes a scan
        # of everyone while there are only a few thousand.
        wanted = User.id == sa.any_(sa.func.array(ids.scalar_subquery()))
    else:
        wanted = User.id.in_(ids)
    people = {u.id: u for u in db.session.scalars(sa.select(User).where(wanted))}  # no twice
    ordered = sorted(people.values(), key=lambda u: (u.nickname not in names, u.nickname))
    return ordered[:PEOPLE_SHOWN]


def _by_display_name(words: list[str]) -> sa.Select[Any]:
    """Select the people whose display name has words starting with each of these."""
    if db.engine.dialect.name == "postgresql":
        vector = sa.func.to_tsvector(sa.literal_column("'simple'::regconfig"), User.display_name)
        # Words are letters, digits and marks only (search.words_of): no tsquery syntax.
        query = sa.func.to_tsquery(
            sa.literal_column("'simple'::regconfig"), " & ".join(f"'{w}':*" for w in words)
        )
        return sa.select(User.id).where(vector.op("@@")(query))
    fts = sa.table("user_fts", sa.column("rowid", sa.Integer))
    match = " ".join(f'"{w}"*' for w in words)
    return sa.select(fts.c.rowid.label("id")).where(
        sa.literal_column("user_fts").op("MATCH")(match)
    )
