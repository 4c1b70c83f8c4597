"""Pages read posts as plain rows (rows.py): the same values the ORM loads, for every statement."""

import dataclasses

import pytest
import sqlalchemy as sa

from microblog.social import posting, relations, rows
from microblog.social.models import Post
from microblog.social.queries import (
    author_posts_query,
    binds,
    posts_query,
    replies_query,
    thread_query,
)
from microblog.social.tag_views import tag_query
from tests.social.helpers import add_posts

POST_FIELDS = [f.name for f in dataclasses.fields(rows.PostRow) if f.name != "author"]


def same_as_orm(statement, values):
    """Load statement both ways; assert each row holds what the ORM instance holds."""
    from microblog.extensions import db

    loaded = rows.load_posts(statement, values)
    expected = db.session.scalars(statement, values).all()
    assert [p.id for p in loaded] == [p.id for p in expected]
    for row, post in zip(loaded, expected, strict=True):
        for name in POST_FIELDS:
            assert getattr(row, name) == getattr(post, name), name
            assert type(getattr(row, name)) is type(getattr(post, name)), name
        assert row.deleted == post.deleted and row.written_at == post.written_at
        if post.user_id is None:
            assert row.author is None
        else:
            for name in rows.AUTHOR_COLUMNS:
                assert getattr(row.author, name) == getattr(post.author, name), name
    return loaded


@pytest.fixture
def thread(make_user):
    """A thread with likes, an edit, a mention, a #tag, a deletion and a blocked replier."""
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    (top,) = add_posts(alice, 1)
    gone = posting.publish(bob.id, "soon deleted", top)
    reply = posting.publish(carol.id, "hi @alice #tea", gone)
    posting.edit(reply, "hi @alice, edited #tea")
    posting.like(alice.id, reply)
    last = posting.publish(bob.id, "blocked reply", reply)
    posting.delete(gone)
    relations.block(alice.id, bob.id)
    return alice, top, gone, reply, last


@pytest.mark.parametrize("signed_in", [True, False])
def test_rows_hold_what_the_orm_loads(thread, signed_in):
    alice, top, gone, reply, last = thread
    viewer = alice.id if signed_in else None
    shown = same_as_orm(posts_query(signed_in).order_by(Post.id), binds(viewer))
    assert reply.id in [p.id for p in shown]
    same_as_orm(author_posts_query(signed_in), binds(viewer, author_id=alice.id))
    same_as_orm(tag_query(signed_in), binds(viewer, tag="tea"))
    for post in (top, gone, reply):
        same_as_orm(replies_query(signed_in), binds(viewer, post_id=post.id))
    chain = same_as_orm(thread_query(signed_in), binds(viewer, post_id=last.id))
    assert [p.deleted for p in chain] == [False, True, False, False]
    assert chain[-1].hidden is signed_in and chain[0].hidden is False


def test_a_statement_with_columns_posts_do_not_have_is_refused(thread):
    extra = posts_query(False).add_columns(sa.literal(1).label("score"))
    with pytest.raises(ValueError, match="a column posts do not have"):
        rows.load_posts(extra, binds(None))
