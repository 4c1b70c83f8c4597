"""Atom feeds of a person and of a tag: valid Atom 1.0 to a real reader, and cheap to poll."""

from datetime import timedelta

import feedparser
import pytest
import sqlalchemy as sa

from microblog.extensions import db
from microblog.social.models import Post, PostTag

from .helpers import START, send


def read(response):
    assert response.status_code == 200
    assert response.content_type == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.get_data())
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    return parsed


def add(user, body, minutes=0, tags=()):
    post = Post(user_id=user.id, body=body, created_at=START + timedelta(minutes=minutes))
    db.session.add(post)
    db.session.flush()
    db.session.add_all(PostTag(post_id=post.id, tag=t, created_at=post.created_at) for t in tags)
    db.session.commit()
    return post


@pytest.fixture
def bob(make_user):
    return make_user("bob", display_name="Robert")


def test_a_persons_feed(client, bob):
    first = add(bob, "Hello <world> & @nobody", 1)
    second = add(bob, "See https://example.org/ and #Flask", 2)
    feed = read(client.get("/u/bob/feed.atom"))
    assert feed.feed.title == "Robert (@bob)"
    assert feed.feed.link == "http://localhost/u/bob"
    assert feed.feed.id == "http://localhost/u/bob/feed.atom"
    assert feed.feed.updated == "2026-01-01T09:02:00Z"
    newest, oldest = feed.entries
    assert newest.id == newest.link == f"http://localhost/p/{second.id}"
    assert oldest.id == f"http://localhost/p/{first.id}"
    assert newest.author == "Robert"
    assert newest.published == "2026-01-01T09:02:00Z"
    assert oldest.title == "Hello <world> & @nobody"
    assert oldest.content[0].value == "Hello &lt;world&gt; &amp; @nobody"
    html = newest.content[0].value
    assert '<a href="https://example.org/" rel="nofollow ugc noopener">' in html
    assert '<a class="hashtag" href="http://localhost/tags/flask">#Flask</a>' in html


def test_a_tags_feed(client, bob, make_user):
    carol = make_user("carol")
    add(bob, "#news one", 1, tags=["news"])
    add(carol, "#news two", 2, tags=["news"])
    add(carol, "no tag", 3)
    feed = read(client.get("/tags/news/feed.atom"))
    assert feed.feed.title == "Posts tagged #news"
    assert feed.feed.link == "http://localhost/tags/news"
    assert [e.title for e in feed.entries] == ["#news two", "#news one"]
    assert [e.author for e in feed.entries] == ["carol", "Robert"]
    empty = read(client.get("/tags/quiet/feed.atom"))
    assert empty.entries == []


def test_a_feed_holds_the_newest_twenty_posts(client, bob):
    for i in range(25):
        add(bob, f"post {i}", i)
    feed = read(client.get("/u/bob/feed.atom"))
    assert [e.title for e in feed.entries] == [f"post {i}" for i in range(24, 4, -1)]


def test_pages_link_to_their_feeds(client, bob):
    alternate = '<link rel="alternate" type="application/atom+xml" title="{}" href="{}">'
    profile = client.get("/u/bob").get_data(as_text=True)
    assert alternate.format("Posts by bob", "/u/bob/feed.atom") in profile
    tag = client.get("/tags/news").get_data(as_text=True)
    assert alternate.format("Posts tagged #news", "/tags/news/feed.atom") in tag


def test_characters_xml_cannot_hold_are_left_out(client, bob):
    add(bob, "odd \ufffe\uffff characters \U0001f600", 1)
    feed = read(client.get("/u/bob/feed.atom"))
    assert feed.entries[0].title == "odd  characters \U0001f600"


@pytest.mark.parametrize("path", ["/u/nobody/feed.atom", "/tags/2024/feed.atom"])
def test_no_such_feed_is_a_404(client, path):
    assert client.get(path).status_code == 404


def test_a_tag_feed_in_another_spelling_redirects_to_its_own(client):
    response = client.get("/tags/NEWS/feed.atom")
    assert response.status_code == 301
    assert response.headers["Location"] == "/tags/news/feed.atom"


@pytest.mark.parametrize("path", ["/u/bob/feed.atom", "/tags/news/feed.atom"])
def test_a_poll_that_hits_its_etag_is_one_query_and_a_304(client, bob, statements, path):
    add(bob, "#news first", 1, tags=["news"]).created_at += timedelta(microseconds=500)
    db.session.commit()
    first = client.get(path)
    etag = first.headers["ETag"]
    assert first.headers["Last-Modified"] == "Thu, 01 Jan 2026 09:01:00 GMT"
    assert first.headers["Cache-Control"] == "public, max-age=60"
    statements.clear()
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert len(statements) == 1, statements
    statements.clear()
    since = client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    assert len(statements) == 1, statements


def test_the_etag_changes_with_what_the_feed_shows(client, alice, make_user):
    def etag():
        return client.get("/u/alice/feed.atom").headers["ETag"]

    seen = [etag()]
    send(client, "/", body="first #news")
    seen.append(etag())
    post = db.session.scalars(sa.select(Post)).one()
    send(client, f"/p/{post.id}/edit", body="first #news, edited")
    seen.append(etag())
    alice.display_name = "Alice A."
    db.session.commit()
    seen.append(etag())
    send(client, f"/p/{post.id}/delete", confirm="yes")
    seen.append(etag())
    assert len(set(seen)) == len(seen), seen
    stale = client.get("/u/alice/feed.atom", headers={"If-None-Match": seen[1]})
    assert stale.status_code == 200
