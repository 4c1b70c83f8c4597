"""Search: words, phrases, #tags, @mentions and from:, ranked and paged; people; hostile input."""

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microblog.extensions import db
from microblog.social.models import Block, Mute, Post
from microblog.social.tags import store_tags
from microblog.social.text import hashtags

from .helpers import START, add_posts, bodies, send


def found(client, q, **args):
    response = client.get("/search", query_string={"q": q, **args})
    assert response.status_code == 200, response.get_data(as_text=True)
    return [html.unescape(re.sub("<[^>]+>", "", b)) for b in bodies(response)]


def post(user, body, minutes=0):
    item = Post(user_id=user.id, body=body, created_at=START + timedelta(minutes=minutes))
    db.session.add(item)
    db.session.flush()
    store_tags(item, hashtags(body))
    db.session.commit()
    return item


@pytest.fixture
def bob(make_user):
    return make_user("bob", display_name="Robert Builder")


def test_words_match_in_any_order_and_case(client, bob):
    post(bob, "Morning COFFEE by the river", 1)
    post(bob, "River walk, no coffee", 2)
    post(bob, "Tea by the river", 3)
    assert sorted(found(client, "coffee river")) == [
        "Morning COFFEE by the river",
        "River walk, no coffee",
    ]
    assert found(client, "Ünmatched") == []


def test_a_phrase_matches_those_words_in_that_order(client, bob):
    post(bob, "the river bank is quiet", 1)
    post(bob, "a bank by the river", 2)
    assert found(client, '"river bank"') == ["the river bank is quiet"]
    assert found(client, '"river bank') == ["the river bank is quiet"]  # unbalanced quote


def test_punctuation_and_unicode_words(client, bob):
    post(bob, "Read https://example.org/notes, don't miss it", 1)
    post(bob, "Café am Straße in 東京", 2)
    assert found(client, "example.org") == ["Read https://example.org/notes, don't miss it"]
    assert found(client, "don't") == ["Read https://example.org/notes, don't miss it"]
    assert found(client, "CAFÉ straße") == ["Café am Straße in 東京"]
    assert found(client, "東京") == ["Café am Straße in 東京"]


def test_results_are_ranked_best_first(client, bob):
    post(bob, "coffee coffee coffee", 1)
    post(bob, "a long post about many things and, once, coffee among them all", 2)
    assert found(client, "coffee") == [
        "coffee coffee coffee",
        "a long post about many things and, once, coffee among them all",
    ]


def test_tags_mentions_and_authors(client, alice, bob, make_user):
    carol = make_user("carol")
    send(client, "/", body="Trying #Flask with @bob")
    send(client, "/", body="flask without the hash")
    post(carol, "#flask from carol", 5)
    assert sorted(found(client, "#FLASK")) == ["#flask from carol", "Trying #Flask with @bob"]
    assert found(client, "@bob") == ["Trying #Flask with @bob"]
    assert found(client, "from:carol") == ["#flask from carol"]
    assert found(client, "from:carol flask") == ["#flask from carol"]
    assert found(client, "from:alice #flask trying") == ["Trying #Flask with @bob"]
    assert found(client, "from:nobody flask") == []


def test_people_by_nickname_and_display_name(client, bob, make_user):
    make_user("bobby")
    make_user("someone", display_name="Bob's Friend")
    html = client.get("/search?q=bob").get_data(as_text=True)
    people = re.findall(r'<span class="nickname">@(\w+)</span>', html)
    assert people[0] == "bob"  # the exact nickname first
    assert set(people) == {"bob", "bobby", "someone"}
    html = client.get("/search?q=builder").get_data(as_text=True)
    assert re.findall(r'<span class="nickname">@(\w+)</span>', html) == ["bob"]


def test_results_are_paged(client, bob):
    add_posts(bob, 45, prefix="paged")
    seen = found(client, "paged") + found(client, "paged", page=2) + found(client, "paged", page=3)
    assert sorted(seen) == sorted(f"paged-{i}" for i in range(45))
    assert found(client, "paged", page=4) == []
    html = client.get("/search?q=paged&page=2").get_data(as_text=True)
    assert 'rel="prev" href="/search?q=paged&amp;page=1"' in html
    assert 'rel="next" class="older" href="/search?q=paged&amp;page=3"' in html


def test_blocked_and_muted_people_stay_hidden(client, alice, bob, make_user):
    carol, dave, erin = make_user("carol"), make_user("dave"), make_user("erin")
    for person in (bob, carol, dave, erin):
        post(person, f"news from {person.nickname}")
    db.session.add_all(
        [
            Block(blocker_id=alice.id, blocked_id=bob.id),
            Block(blocker_id=carol.id, blocked_id=alice.id),
            Mute(muter_id=alice.id, muted_id=dave.id),
        ]
    )
    db.session.commit()
    assert found(client, "news") == ["news from erin"]
    assert found(client, "from:dave news") == []


def test_the_index_follows_edits_and_deletes(client, alice):
    send(client, "/", body="first words")
    item = db.session.scalars(sa.select(Post)).one()
    assert found(client, "first") == ["first words"]
    send(client, f"/p/{item.id}/edit", body="second thoughts")
    assert found(client, "first") == []
    assert found(client, "second") == ["second thoughts"]
    send(client, f"/p/{item.id}/reply", body="a reply keeps the row")
    send(client, f"/p/{item.id}/delete", confirm="yes")
    assert found(client, "second") == []
    assert found(client, "reply") == ["a reply keeps the row"]


def test_phrases_follow_edits(client, alice):
    send(client, "/", body="the river bank, then the bank of the river")
    item = db.session.scalars(sa.select(Post)).one()
    assert found(client, '"bank of the river" "the river bank"') == [item.body]
    send(client, f"/p/{item.id}/edit", body="a bank by the river")
    assert found(client, '"river bank"') == []
    assert found(client, '"by the river"') == ["a bank by the river"]
    assert found(client, '"River, BANK"') == []  # the same words, in the other order


def test_a_phrase_reads_past_punctuation_and_repeats(client, bob):
    post(bob, "Down by the river... river, bank!", 1)
    post(bob, "bank river river", 2)
    assert found(client, '"the river river bank"') == ["Down by the river... river, bank!"]
    assert found(client, '"river river"') == [
        "bank river river",
        "Down by the river... river, bank!",
    ]


def test_a_search_is_planned_for_its_own_terms(app, client, bob, statements):
    """Terms and limits are written into the statement, so that even a prepared statement's
    plan (psycopg prepares one run five times) is made for them."""
    post(bob, "coffee by the river")
    statements.clear()
    assert found(client, '"the river" coffee') == ["coffee by the river"]
    (sql,) = [s for s in statements if " AS found" in s]
    assert re.search(r"LIMIT 1000\b", sql) and re.search(r"LIMIT 21\b", sql)
    if db.engine.dialect.name == "postgresql":  # SQLite prepares nothing across requests
        assert "'the river'" in sql and "'coffee'" in sql
        assert "'simple'::regconfig" in sql and "REGCONFIG" not in sql


def test_posts_written_before_the_migration_are_found(app, client, bob):
    bob_id = bob.id  # the models are ahead of the schema until upgrade() below
    db.session.commit()
    downgrade(revision="0004")
    try:
        db.session.execute(
            sa.text("INSERT INTO post (user_id, body, created_at) VALUES (:u, :b, :c)"),
            [{"u": bob_id, "b": "old #Flask post by the river", "c": START}],
        )
        db.session.commit()
    finally:
        upgrade()  # whatever happened: later tests share this database's schema
    assert found(client, "river") == ["old #Flask post by the river"]
    assert found(client, '"by the river"') == ["old #Flask post by the river"]
    assert found(client, '"the by"') == []
    assert found(client, "#flask") == ["old #Flask post by the river"]
    assert len(bodies(client.get("/tags/flask"))) == 1


def test_an_empty_search_shows_the_form(client):
    response = client.get("/search")
    assert response.status_code == 200
    assert 'name="q"' in response.get_data(as_text=True)
    assert "No posts match" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "q",
    [
        'coffee OR tea NOT "x" NEAR(a b) col:val * ^start - + ( ) { } :',
        "a & b | !c <-> d:* 'quoted'",
        '"""',
        '"unbalanced',
        "\x00null\x00",
        "#",
        "@",
        "from:",
        "from:Bob",
        "AND",
        "%_\\",
        "\u202e\ufeff\u200b",
        "x" * 200,
    ],
)
def test_hostile_searches_get_results(client, bob, q):
    post(bob, "coffee OR tea")
    assert client.get("/search", query_string={"q": q}).status_code == 200


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("x" * 10_000, "Searches can be 200 characters at most; this one has 10000."),
        (" ".join(["w"] * 13), "Search for 12 words at most; this search has 13."),
    ],
)
def test_too_big_a_search_says_why_and_keeps_the_text(client, q, message):
    response = client.get("/search", query_string={"q": q})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert f'value="{q}"' in html


@pytest.mark.parametrize("number", ["0", "-1", "x", "99999999999999999999"])
def test_a_broken_page_number_is_a_400(client, number):
    assert client.get(f"/search?q=a&page={number}").status_code == 400


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=60))
def test_no_search_is_a_500(client, bob, q):
    assert client.get("/search", query_string={"q": q}).status_code in (200, 400)


def test_a_search_runs_a_fixed_number_of_statements(client, alice, make_user, statements):
    counts = []
    for count in (5, 50):
        for author in [make_user(f"author{count}_{i}") for i in range(count)]:
            add_posts(author, 1, prefix="counted")
        statements.clear()
        assert len(found(client, "counted")) == min(20, count)
        counts.append(len(statements))
        db.session.execute(sa.delete(Post))
        db.session.commit()
    assert counts[0] == counts[1] <= 5, statements


def test_tags_with_words(client, bob):
    post(bob, "coffee and #v2_beta", 1)
    post(bob, "coffee in #東京", 2)
    post(bob, "coffee, v2 beta, no tag", 3)
    assert found(client, "#v2_beta coffee") == ["coffee and #v2_beta"]
    assert found(client, "coffee #東京") == ["coffee in #東京"]
