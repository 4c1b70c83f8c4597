"""Post cards cached per worker: the same HTML as drawn afresh, and every write shows at once
on another worker sharing the database (its cache keyed by what the card shows)."""

import re

import pytest
import sqlalchemy as sa

from microblog import create_app
from microblog.extensions import db
from microblog.models import User
from microblog.moderation import actions
from microblog.social import cards, posting, relations
from microblog.testing import IsolatedClient
from tests.helpers import sign_in_as
from tests.social.helpers import add_posts


@pytest.fixture
def worker(app_config):
    """A second app on the same database: another worker (or server) with a cache of its own."""
    other = create_app(app_config)
    other.test_client_class = IsolatedClient
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def reader(worker, make_user):
    """Bob, signed in on the other worker, who has seen Explore once (its cards are cached)."""
    client = worker.test_client()
    sign_in_as(client, make_user("bob"))
    return client


def page(client, path):
    """A page's HTML, its CSRF tokens and how-long-agos blanked (they differ between fetches)."""
    html = client.get(path).get_data(as_text=True)
    html = re.sub(r'name="csrf_token" value="[^"]*"', "csrf", html)
    return re.sub(r'(<time datetime="[^"]*" title="[^"]*">)[^<]*</time>', r"\1</time>", html)


def card(client, post_id):
    """The HTML of one post's card on Explore, or None if the post is not there."""
    html = client.get("/explore").get_data(as_text=True)
    match = re.search(rf'<article class="post" id="p{post_id}">.*?</article>', html, re.S)
    return match and match.group(0)


@pytest.mark.parametrize("viewer", [None, "bob", "alice"])
def test_cards_are_cached_and_the_same_as_drawn_afresh(app_config, app, make_user, viewer):
    carol = make_user("carol", display_name="Carol C")
    alice = make_user("alice", display_name="Alice <A>")
    bob = make_user("bob")
    posts = add_posts(alice, 3)
    gone = posting.publish(carol.id, "soon deleted", posts[0])
    tagged = posting.publish(alice.id, "hi @carol, see https://example.org/a_(b). #Tea", gone)
    deep = posting.publish(bob.id, "deeper", tagged)
    posting.delete(gone)  # a thread keeps its place
    posting.like(carol.id, posts[1])
    posting.like(bob.id, posts[2])
    relations.follow(bob.id, alice.id)
    uncached = create_app({**app_config, "POST_CARD_CACHE_SIZE": 0})
    uncached.test_client_class = IsolatedClient
    cached, fresh = app.test_client(), uncached.test_client()
    if viewer:
        for client in (cached, fresh):
            sign_in_as(client, bob if viewer == "bob" else alice)
    threads = [f"/p/{post.id}" for post in (posts[0], tagged, deep)]
    for path in ("/explore", "/", *threads, "/u/alice", "/tags/tea"):
        first, again = page(cached, path), page(cached, path)
        assert first == again == page(fresh, path), path
        assert 'class="post"' in first, path
    assert len(app.extensions["post_cards"]) > 0
    assert len(uncached.extensions["post_cards"]) == 0
    with uncached.app_context():
        db.engine.dispose()


def test_the_cache_is_bounded(app_config, app, make_user, alice):
    small = create_app({**app_config, "POST_CARD_CACHE_SIZE": 5})
    small.test_client_class = IsolatedClient
    add_posts(make_user(), 12)
    client = small.test_client()
    assert client.get("/explore").status_code == 200
    assert len(small.extensions["post_cards"]) == 5
    with small.app_context():
        db.engine.dispose()


def test_an_lru_keeps_what_was_used_last():
    cache = cards.CardCache(2)
    cache.put(("a",), ("1", "2"))
    cache.put(("b",), ("3", "4"))
    assert cache.get(("a",)) == ("1", "2")
    cache.put(("c",), ("5", "6"))
    assert cache.get(("b",)) is None
    assert cache.get(("a",)) == ("1", "2") and cache.get(("c",)) == ("5", "6")


def test_an_edit_shows_on_the_other_worker(make_user, reader):
    (post,) = add_posts(make_user("alice"), 1)
    assert "post-0" in card(reader, post.id)
    posting.edit(post, "rewritten")
    shown = card(reader, post.id)
    assert "rewritten" in shown and "post-0" not in shown and ">edited</a>" in shown


def test_a_deletion_shows_on_the_other_worker(make_user, reader):
    (post,) = add_posts(make_user("alice"), 1)
    assert card(reader, post.id)
    posting.delete(post)
    assert card(reader, post.id) is None


def test_likes_show_on_the_other_worker(make_user, reader):
    (post,) = add_posts(make_user("alice"), 1)
    assert 'aria-pressed="false">Like <span class="count">0' in card(reader, post.id)
    posting.like(make_user("carol").id, post)
    assert 'aria-pressed="false">Like <span class="count">1' in card(reader, post.id)


def test_the_readers_own_like_shows_on_the_other_worker(make_user, reader):
    (post,) = add_posts(make_user("alice"), 1)
    card(reader, post.id)
    bob = db.session.scalar(sa.select(User).where(User.nickname == "bob"))
    posting.like(bob.id, post)
    assert 'aria-pressed="true">Liked <span class="count">1' in card(reader, post.id)


def test_replies_show_on_the_other_worker(make_user, reader):
    (post,) = add_posts(make_user("alice"), 1)
    assert ">0 replies<" in card(reader, post.id)
    posting.publish(make_user("carol").id, "an answer", post)
    assert ">1 reply<" in card(reader, post.id)


def test_a_block_shows_on_the_other_worker(make_user, reader):
    alice = make_user("alice")
    (post,) = add_posts(alice, 1)
    assert card(reader, post.id)
    bob = db.session.scalar(sa.select(User).where(User.nickname == "bob"))
    relations.block(alice.id, bob.id)
    assert card(reader, post.id) is None


def test_a_rename_shows_on_the_other_worker(make_user, reader):
    alice, carol = make_user("alice"), make_user("carol")
    post = posting.publish(alice.id, "hello @carol")
    assert '<a class="mention" href="/u/carol">@carol</a>' in card(reader, post.id)
    alice.nickname, alice.display_name, carol.nickname = "alicia", "Alicia A", "caroline"
    db.session.commit()
    shown = card(reader, post.id)
    assert '<span class="nickname">@alicia</span>' in shown and "Alicia A" in shown
    assert 'src="/u/alicia/avatar.svg"' in shown
    assert '<a class="mention" href="/u/caroline">@carol</a>' in shown


def test_a_new_picture_shows_on_the_other_worker(make_user, reader):
    alice = make_user("alice")
    (post,) = add_posts(alice, 1)
    assert 'src="/u/alice/avatar.svg"' in card(reader, post.id)
    alice.picture = "https://pictures.example.org/alice.png"
    db.session.commit()
    assert 'src="https://pictures.example.org/alice.png"' in card(reader, post.id)


def test_a_suspension_shows_on_the_other_worker(make_user, reader):
    alice = make_user("alice")
    (post,) = add_posts(alice, 1)
    assert card(reader, post.id)
    actions.suspend(None, alice)
    assert card(reader, post.id) is None
    actions.restore(None, alice)
    assert card(reader, post.id)
