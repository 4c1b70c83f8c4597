"""Hashtags: linked in posts, stored when written and on edit, one keyset-paged page per tag."""

import re
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from microblog.extensions import db
from microblog.social.models import Block, Mute, Post, PostTag
from microblog.social.text import hashtags

from .helpers import START, add_posts, bodies, link, send


def tags_of(post_id):
    query = sa.select(PostTag.tag).where(PostTag.post_id == post_id).order_by(PostTag.tag)
    return list(db.session.scalars(query))


def latest_post():
    return db.session.scalars(sa.select(Post).order_by(Post.id.desc()).limit(1)).one()


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("I like #flask and #Python.", {"flask", "python"}),
        ("#Flask #FLASK #flask", {"flask"}),
        ("Ünïcode: #Café #東京。次 #Straße #ΣΟΦΊΑ", {"café", "東京", "straße", "σοφία"}),
        ("#हिन्दी marks count as letters", {"हिन्दी"}),
        ("numbers: #2024 #_ #__init but #web3 and #v2_beta", {"__init", "web3", "v2_beta"}),
        ("not in a word: a#b, &#39; c##d", set()),
        ("addresses: https://example.org/#frag www.example.org/#top", set()),
        ("(#brackets) [#too] #end.", {"brackets", "too", "end"}),
        ("#" + "a" * 64 + " #" + "b" * 65, {"a" * 64}),
    ],
)
def test_which_words_are_tags(text, tags):
    assert hashtags(text) == tags


def test_a_tag_in_a_post_links_to_its_page(client, alice):
    send(client, "/", body="Trying #Flask today, see #東京.")
    html = client.get("/explore").get_data(as_text=True)
    assert '<a class="hashtag" href="/tags/flask">#Flask</a>' in html
    assert f'<a class="hashtag" href="/tags/{quote("東京")}">#東京</a>.' in html
    assert tags_of(latest_post().id) == ["flask", "東京"]
    page = client.get(f"/tags/{quote('東京')}")
    assert page.status_code == 200
    assert bodies(page) == [
        'Trying <a class="hashtag" href="/tags/flask">#Flask</a> today, see '
        f'<a class="hashtag" href="/tags/{quote("東京")}">#東京</a>.'
    ]


def test_the_tag_page_is_case_insensitive(client, alice):
    send(client, "/", body="#Flask one")
    send(client, "/", body="#flask two")
    send(client, "/", body="flask without a hash")
    response = client.get("/tags/FLASK")
    assert response.status_code == 301
    assert response.headers["Location"] == "/tags/flask"
    assert [re.sub("<[^>]+>", "", b) for b in bodies(client.get("/tags/flask"))] == [
        "#flask two",
        "#Flask one",
    ]


@pytest.mark.parametrize("path", ["/tags/no%20tag", "/tags/2024", "/tags/a-b", "/tags/" + "a" * 65])
def test_a_url_that_names_no_tag_is_a_404(client, path):
    assert client.get(path).status_code == 404


def test_an_unused_tag_has_an_empty_page(client):
    response = client.get("/tags/nothing")
    assert response.status_code == 200
    assert "No posts carry #nothing yet." in response.get_data(as_text=True)


def test_tags_are_resolved_again_on_edit(client, alice):
    send(client, "/", body="About #flask")
    post = latest_post()
    send(client, f"/p/{post.id}/edit", body="About #django now")
    assert tags_of(post.id) == ["django"]
    assert bodies(client.get("/tags/flask")) == []
    assert len(bodies(client.get("/tags/django"))) == 1


def test_a_deleted_post_leaves_its_tags(client, alice):
    send(client, "/", body="Gone soon #flask")
    post = latest_post()
    send(client, "/", body="")  # a refused post stores nothing
    send(client, f"/p/{post.id}/reply", body="a reply keeps the post's row")
    send(client, f"/p/{post.id}/delete", confirm="yes")
    db.session.refresh(post)
    assert post.deleted
    assert tags_of(post.id) == []
    assert bodies(client.get("/tags/flask")) == []


def test_the_tag_page_is_keyset_paged(client, app, make_user):
    bob = make_user("bob")
    posts = add_posts(bob, 45, prefix="#paged post", per_step=2)  # ties on created_at
    db.session.add_all(PostTag(post_id=p.id, tag="paged", created_at=p.created_at) for p in posts)
    db.session.commit()
    first = client.get("/tags/paged")
    seen = bodies(first)
    assert len(seen) == 20
    second = client.get(link(first, "next"))
    third = client.get(link(second, "next"))
    seen += bodies(second) + bodies(third)
    assert link(third, "next") is None
    expected = [f'<a class="hashtag" href="/tags/paged">#paged</a> post-{i}' for i in range(45)]
    assert seen == expected[::-1]
    assert bodies(client.get(link(third, "prev"))) == bodies(second)


def test_blocked_and_muted_people_stay_off_tag_pages(client, alice, make_user):
    bob, carol, dave = make_user("bob"), make_user("carol"), make_user("dave")
    for person in (bob, carol, dave):
        post = Post(user_id=person.id, body=f"#news from {person.nickname}", created_at=START)
        db.session.add(post)
        db.session.flush()
        db.session.add(PostTag(post_id=post.id, tag="news", created_at=START))
    db.session.add_all([Block(blocker_id=alice.id, blocked_id=bob.id)])
    db.session.add_all([Mute(muter_id=alice.id, muted_id=carol.id)])
    db.session.commit()
    shown = [re.sub("<[^>]+>", "", b) for b in bodies(client.get("/tags/news"))]
    assert shown == ["#news from dave"]


def test_a_tag_page_runs_a_fixed_number_of_statements(client, alice, make_user, statements):
    counts = []
    for count in (5, 50):
        # As many authors as posts, so that loading authors one by one would show.
        for author in [make_user(f"author{count}_{i}") for i in range(count)]:
            (post,) = add_posts(author, 1, prefix="#counted")
            db.session.add(PostTag(post_id=post.id, tag="counted", created_at=post.created_at))
        db.session.commit()
        statements.clear()
        response = client.get("/tags/counted")
        assert response.status_code == 200
        assert len(bodies(response)) == min(20, count)
        counts.append(len(statements))
        db.session.execute(sa.delete(Post))
        db.session.commit()
    assert counts[0] == counts[1] <= 4, statements
