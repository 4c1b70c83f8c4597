import base64
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from microblog.extensions import db
from microblog.identity.models import Identity
from microblog.social import paging, settings
from microblog.social.models import Follow, Post
from tests.helpers import csrf_token, sign_in_as
from tests.social.helpers import START, add_posts, bodies, follows, link, send

# Signing in and the layout


def test_layout_when_signed_in(client, alice):
    html = client.get("/").get_data(as_text=True)
    assert '<a class="site-name" href="/">microblog</a>' in html
    assert '<a href="/u/alice">alice</a>' in html
    assert '<a href="/settings">Settings</a>' in html
    assert re.search(r'<form method="post" action="/logout"[^>]*>\s*<input type="hidden" '
                     r'name="csrf_token" value="[^"]+">', html)  # fmt: skip


def test_pages_load_nothing_from_other_sites(client, make_user, sign_in):
    bob = make_user("bob", picture="https://pictures.example.com/bob.png")
    carol = make_user("carol", picture="http://insecure.example.com/carol.png")
    add_posts(bob, 1)
    add_posts(carol, 1)
    sign_in(bob)
    for path in ("/", "/explore", "/u/bob", "/u/carol", "/settings"):
        html = client.get(path).get_data(as_text=True)
        external = set(re.findall(r'(?:src|href)="((?:https?:)?//[^"]*)"', html))
        assert external <= {"https://pictures.example.com/bob.png"}, path
        # Scripts only from files of our own (the CSP allows no other), and no inline style.
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
        assert html.count("<script") == len(scripts), path
        assert all(re.fullmatch(r' src="/static/[\w.]+\.js" defer', a) and not body
                   for a, body in scripts), path  # fmt: skip
        assert " style=" not in html, path


# Posting


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("x" * 280, "x" * 280),
        ("😀" * 280, "😀" * 280),  # characters, not bytes
        ("  padded  \n", "padded"),
        ("a\x00b\x07c\x1b\r\nd\te", "abc\nde"),
        ("<b>bold?</b>", "<b>bold?</b>"),  # stored as typed; shown as text (test below)
    ],
)
def test_post_accepted(client, alice, typed, stored):
    response = send(client, "/", body=typed)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert db.session.scalars(sa.select(Post.body)).all() == [stored]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Write something before posting."),
        ("   \n\t  ", "Write something before posting."),
        ("\x00\x07", "Write something before posting."),
        ("x" * 281, "this one has 281"),
        ("😀" * 281, "this one has 281"),
    ],
)
def test_post_refused(client, alice, typed, message):
    response = send(client, "/", body=typed)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == 0


def test_refused_post_keeps_what_was_typed(client, alice):
    add_posts(alice, 2)
    typed = "\nFirst line & <b>more</b> " + "é" * 300
    response = send(client, "/", body=typed)
    html = response.get_data(as_text=True)
    # The newline after the tag is the parser's; the typed one after it survives.
    escaped = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert f">\n{escaped}</textarea>" in html
    assert 'aria-invalid="true"' in html
    assert bodies(response) == ["post-1", "post-0"]  # the timeline is still shown


def test_post_is_shown_after_redirect(client, alice):
    response = send(client, "/", body="Hello <b>world</b>\nsee https://example.org @alice")
    response = client.get(response.headers["Location"])
    html = response.get_data(as_text=True)
    assert "Your post is published." in html
    assert bodies(response) == [
        'Hello &lt;b&gt;world&lt;/b&gt;<br>\nsee <a href="https://example.org" '
        'rel="nofollow ugc noopener">https://example.org</a> '
        '<a class="mention" href="/u/alice">@alice</a>'
    ]
    iso = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    assert re.search(rf'<time datetime="{iso}" title="[^"]+ UTC">just now</time>', html)


def test_post_without_csrf_token_is_refused(client, alice):
    response = client.post("/", data={"body": "hello"})
    assert response.status_code == 400
    assert "Please send that again" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == 0


# Timelines


def test_home_shows_own_and_followed_posts_newest_first(client, alice, make_user):
    bob, carol = make_user("bob"), make_user("carol")
    db.session.add(Follow(follower_id=alice.id, followed_id=bob.id))
    db.session.add(Follow(follower_id=carol.id, followed_id=alice.id))  # not the other way
    db.session.add_all(
        [
            Post(user_id=alice.id, body="alice-old", created_at=START),
            Post(user_id=bob.id, body="bob-mid", created_at=START + timedelta(hours=1)),
            Post(user_id=carol.id, body="carol-new", created_at=START + timedelta(hours=2)),
            Post(user_id=alice.id, body="alice-new", created_at=START + timedelta(hours=3)),
        ]
    )
    db.session.commit()
    assert bodies(client.get("/")) == ["alice-new", "bob-mid", "alice-old"]


def test_explore_is_public_and_shows_everyone(client, make_user):
    bob, carol = make_user("bob"), make_user("carol")
    add_posts(bob, 1, prefix="bob")
    add_posts(carol, 1, start=START + timedelta(hours=1), prefix="carol")
    response = client.get("/explore")
    assert response.status_code == 200
    assert bodies(response) == ["carol-0", "bob-0"]
    assert 'href="/login">Sign in</a>' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/", "Nothing here yet. Write your first post, or find people to follow on Explore."),
        ("/explore", "No one has posted yet."),
        ("/u/alice", "alice has not posted yet."),
    ],
)
def test_empty_pages_say_so(client, alice, path, message):
    response = client.get(path)
    assert f'<p class="empty">{message}</p>' in response.get_data(as_text=True)
    assert link(response, "prev") is None and link(response, "next") is None


# Pagination


def walk(client, path, rel):
    """Follow the Newer or Older links from path; return each page's bodies."""
    pages = []
    while path:
        response = client.get(path)
        assert response.status_code == 200
        pages.append(bodies(response))
        path = link(response, rel)
    return pages


@pytest.mark.parametrize("path", ["/", "/explore", "/u/alice"])
def test_pages_neither_overlap_nor_skip(client, alice, path):
    # Three posts per timestamp: only the id orders them, and none may be lost or repeated.
    add_posts(alice, 45, per_step=3)
    pages = walk(client, path, "next")
    assert pages == [
        [f"post-{i}" for i in range(44, 24, -1)],
        [f"post-{i}" for i in range(24, 4, -1)],
        [f"post-{i}" for i in range(4, -1, -1)],
    ]
    # Back up from the last page with Newer: the 20 posts just newer each time, newest first.
    last = client.get(path)
    for _ in range(2):
        last = client.get(link(last, "next"))
    assert walk(client, link(last, "prev"), "prev") == [pages[1], pages[0]]


def test_timeline_pages_merge_authors(client, alice, make_user):
    # Authors read one by one, then merged: ties across authors, quiet and busy ones, and an
    # author not followed whose posts must never appear.
    bob, carol, dave = make_user("bob"), make_user("carol"), make_user("dave")
    db.session.add_all([Follow(follower_id=alice.id, followed_id=u.id) for u in (bob, carol)])
    posts = [
        *add_posts(alice, 10, step=timedelta(minutes=5), prefix="alice"),
        *add_posts(bob, 30, step=timedelta(minutes=1), per_step=2, prefix="bob"),
        *add_posts(carol, 3, step=timedelta(minutes=7), prefix="carol"),
        *add_posts(dave, 30, step=timedelta(minutes=1), prefix="dave"),
    ]
    shown = [p for p in posts if p.user_id != dave.id]
    expected = [p.body for p in sorted(shown, key=lambda p: (p.created_at, p.id), reverse=True)]
    older = walk(client, "/", "next")
    assert sum(older, []) == expected
    assert [len(page) for page in older] == [20, 20, 3]
    last = client.get("/")
    for _ in range(2):
        last = client.get(link(last, "next"))
    assert walk(client, link(last, "prev"), "prev") == [older[1], older[0]]


def test_first_page_has_no_newer_link(client, alice):
    add_posts(alice, 21)
    first = client.get("/")
    assert link(first, "prev") is None
    assert link(first, "next") is not None
    assert link(client.get(link(first, "next")), "next") is None


def test_a_post_published_meanwhile_shifts_no_page(client, alice):
    add_posts(alice, 45)
    first = client.get("/")
    add_posts(alice, 1, start=START + timedelta(days=1), prefix="meanwhile")
    second = client.get(link(first, "next"))
    assert bodies(second) == [f"post-{i}" for i in range(24, 4, -1)]
    # Newer from the second page now shows the 20 just newer, with a way on to the new post.
    newer = client.get(link(second, "prev"))
    assert bodies(newer) == [f"post-{i}" for i in range(44, 24, -1)]
    assert bodies(client.get(link(newer, "prev"))) == ["meanwhile-0"]


def test_cursors_are_opaque_and_url_safe(client, alice):
    add_posts(alice, 21)
    query = parse_qs(urlsplit(link(client.get("/"), "next")).query)
    assert list(query) == ["before"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", query["before"][0])


def b64(text):
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor!",
        "%FF%FE",
        "A",
        b64("no-dot"),
        b64("12.x"),
        b64("9" * 30 + ".1"),  # past year 9999
        b64("1.0"),
        b64(f"1.{2**31}"),  # beyond a PostgreSQL INTEGER
    ],
)
@pytest.mark.parametrize("direction", ["before", "after"])
@pytest.mark.parametrize("path", ["/", "/explore", "/u/alice"])
def test_malformed_cursor_is_a_400_page(client, alice, path, direction, cursor):
    response = client.get(f"{path}?{direction}={cursor}")
    assert response.status_code == 400
    assert paging.BROKEN_CURSOR in response.get_data(as_text=True)


YEAR_1 = b64("-62135596800000000.1")  # its first microsecond
YEAR_9999 = b64(f"253402300799999999.{2**31 - 1}")  # its last microsecond, the largest id


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        (f"after={YEAR_1}", ["post-0"]),
        (f"before={YEAR_1}", []),
        (f"after={YEAR_9999}", []),
        (f"before={YEAR_9999}", ["post-0"]),
    ],
)
def test_extreme_but_valid_cursors_work(client, alice, query, shown):
    add_posts(alice, 1)
    response = client.get(f"/explore?{query}")
    assert response.status_code == 200
    assert bodies(response) == shown


def test_cursor_past_the_end_shows_a_way_back(client, alice):
    add_posts(alice, 3)
    response = client.get("/explore?before=" + b64("0.1"))
    assert response.status_code == 200
    assert bodies(response) == []
    assert '<a href="/explore">See the newest posts</a>' in response.get_data(as_text=True)


# Following


def test_follow_and_unfollow(client, alice, make_user):
    bob = make_user("bob")
    for _ in range(2):  # following twice is harmless
        response = send(client, "/u/bob/follow")
        assert response.status_code == 302
        assert response.headers["Location"] == "/u/bob"
        assert follows(alice, bob)
    assert "You are following bob." in client.get("/u/bob").get_data(as_text=True)
    response = send(client, "/u/bob/unfollow")
    assert response.headers["Location"] == "/u/bob"
    assert not follows(alice, bob)
    assert "You no longer follow bob." in client.get("/u/bob").get_data(as_text=True)


def test_following_oneself_is_refused(client, alice):
    response = send(client, "/u/alice/follow")
    assert response.headers["Location"] == "/u/alice"
    assert "You cannot follow yourself." in client.get("/u/alice").get_data(as_text=True)
    assert not follows(alice, alice)


def test_a_double_click_race_on_follow_is_harmless(client, alice, make_user, monkeypatch):
    bob = make_user("bob")
    db.session.add(Follow(follower_id=alice.id, followed_id=bob.id))
    db.session.commit()
    token = csrf_token(client, "/explore")
    # As if the other click's row landed between our look and our insert.
    real_get = db.session.get
    monkeypatch.setattr(
        db.session, "get", lambda cls, k: None if cls is Follow else real_get(cls, k)
    )
    response = client.post("/u/bob/follow", data={"csrf_token": token})
    assert response.headers["Location"] == "/u/bob"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Follow)) == 1


@pytest.mark.parametrize(("action", "following"), [("follow", False), ("unfollow", True)])
def test_follow_without_csrf_token_is_refused(client, alice, make_user, action, following):
    bob = make_user("bob")
    if following:
        db.session.add(Follow(follower_id=alice.id, followed_id=bob.id))
        db.session.commit()
    response = client.post(f"/u/bob/{action}")
    assert response.status_code == 400
    assert "Please send that again" in response.get_data(as_text=True)
    assert follows(alice, bob) is following


def test_follow_needs_sign_in(client, make_user):
    make_user("bob")
    response = client.post("/u/bob/follow", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Follow)) == 0


def test_follow_unknown_user_is_404(client, alice):
    assert send(client, "/u/nobody/follow").status_code == 404


# Profiles


def test_profile_shows_the_user(client, make_user):
    bob = make_user("bob", about="Hi, I'm <Bob>.\nSee @carol", created_at=START)
    carol, dave = make_user("carol"), make_user("dave")
    db.session.add_all([Follow(follower_id=carol.id, followed_id=bob.id),
                        Follow(follower_id=dave.id, followed_id=bob.id),
                        Follow(follower_id=bob.id, followed_id=carol.id)])  # fmt: skip
    add_posts(bob, 2, prefix="bob")
    add_posts(carol, 1, prefix="carol")
    response = client.get("/u/bob")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>bob · microblog</title>" in html
    assert '<h1 id="profile-name">bob</h1>' in html
    assert 'src="/u/bob/avatar.svg"' in html
    assert 'Hi, I&#39;m &lt;Bob&gt;.<br>\nSee <a class="mention" href="/u/carol">@carol</a>' in html
    assert 'Joined <time datetime="2026-01-01T09:00:00Z"' in html
    assert "<strong>2</strong> posts" in html
    assert "<strong>2</strong> followers" in html
    assert "<strong>1</strong> following" in html
    assert bodies(response) == ["bob-1", "bob-0"]
    assert 'action="/u/bob/follow"' not in html  # signed out: no button, a way to sign in
    assert 'href="/login?next=/u/bob">Sign in to follow bob</a>' in html


def test_profile_counts_in_the_singular(client, make_user):
    bob, carol = make_user("bob"), make_user("carol")
    db.session.add(Follow(follower_id=carol.id, followed_id=bob.id))
    add_posts(bob, 1)
    html = client.get("/u/bob").get_data(as_text=True)
    assert "<strong>1</strong> post</li>" in html
    assert "<strong>1</strong> follower</a></li>" in html
    assert "<strong>0</strong> following</a></li>" in html


def test_profile_button_depends_on_who_looks(client, alice, make_user):
    make_user("bob")
    assert 'action="/u/bob/follow"' in client.get("/u/bob").get_data(as_text=True)
    send(client, "/u/bob/follow")
    html = client.get("/u/bob").get_data(as_text=True)
    assert 'action="/u/bob/unfollow"' in html
    assert 'action="/u/bob/follow"' not in html
    own = client.get("/u/alice").get_data(as_text=True)
    assert '/follow"' not in own and '/unfollow"' not in own
    assert 'href="/settings">Edit your profile</a>' in own


def test_profile_nickname_is_case_insensitive(client, make_user):
    make_user("bob")
    assert client.get("/u/BOB").status_code == 200


def test_unknown_profile_is_a_404_page(client):
    response = client.get("/u/nobody")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "<h1>Page not found</h1>" in html
    assert '<a class="site-name" href="/">microblog</a>' in html


# PostgreSQL refuses a NUL byte in a string parameter: these must be 404s, not 500s.
@pytest.mark.parametrize("nickname", ["a%00b", "x" * 300, "%C3%A9", "a.b", "a%20b"])
@pytest.mark.parametrize("suffix", ["", "/avatar.svg", "/follow", "/unfollow"])
def test_impossible_nicknames_are_404s(client, alice, nickname, suffix):
    path = f"/u/{nickname}{suffix}"
    response = send(client, path) if suffix.endswith("follow") else client.get(path)
    assert response.status_code == 404


# Avatars


def test_https_picture_is_the_avatar(client, make_user):
    make_user("bob", picture="https://pictures.example.com/bob.png?s=96&x=1")
    html = client.get("/u/bob").get_data(as_text=True)
    assert 'src="https://pictures.example.com/bob.png?s=96&amp;x=1"' in html


@pytest.mark.parametrize("picture", [None, "", "http://example.com/bob.png", "javascript:x"])
def test_otherwise_the_identicon_is(client, make_user, picture):
    make_user("bob", picture=picture)
    html = client.get("/u/bob").get_data(as_text=True)
    assert 'src="/u/bob/avatar.svg"' in html


def test_identicon(client, make_user):
    make_user("bob")
    make_user("carol")
    response = client.get("/u/bob/avatar.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert response.cache_control.public and response.cache_control.max_age == 86400
    assert response.headers["Content-Security-Policy"] == "default-src 'none'"
    again = client.get("/u/bob/avatar.svg", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/u/carol/avatar.svg").data != response.data
    assert client.get("/u/nobody/avatar.svg").status_code == 404


def test_identicon_survives_a_nickname_change(client, alice):
    before = client.get("/u/alice/avatar.svg").data
    send(client, "/settings", nickname="alicia", about="")
    assert client.get("/u/alicia/avatar.svg").data == before


# Settings


def test_settings_need_sign_in(client):
    response = client.get("/settings")
    assert response.headers["Location"] == "/login?next=%2Fsettings"


def test_settings_list_the_ways_to_sign_in(client, alice):
    alice.identities += [
        Identity(provider="company", subject="1", email="alice@corp.example"),
        Identity(provider="retired", subject="2", email=None),
    ]
    alice.about = "Tea & <code>"
    db.session.commit()
    html = client.get("/settings").get_data(as_text=True)
    assert 'value="alice"' in html
    assert ">\nTea &amp; &lt;code&gt;</textarea>" in html
    assert '<li><strong>Company SSO</strong> <span class="muted">alice@corp.example</span>' in html
    assert "<li><strong>retired</strong>\n" in html  # no longer configured: its name


def test_settings_link_another_provider(client, fake_idp):
    fake_idp.sign_in(client, email="ann@example.org", provider="google")
    html = client.get("/settings").get_data(as_text=True)
    assert '<li><strong>Google</strong> <span class="muted">ann@example.org</span>' in html
    assert re.search(r'<time datetime="[^"]+Z" [^>]*>just now</time>\s*with Google '
                     r'<span class="muted">from 127.0.0.1</span>', html)  # fmt: skip
    buttons = dict(re.findall(r'formaction="([^"]+)">Link ([^<]+)</button>', html))
    assert buttons == {  # not Google, already linked
        "/login/github": "GitHub",
        "/login/company": "Company SSO",
        "/login/plain": "Plain OAuth",
    }
    form = re.search(r'<form method="post" [^>]+ class="providers">(.*?)</form>', html, re.S)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]+)">', form.group(1)))
    assert fields["link"] == "1"
    started = client.post("/login/company", data=fields)
    done = client.get(fake_idp.authorize(started.headers["Location"]))
    assert done.headers["Location"] == "/settings"
    html = client.get("/settings").get_data(as_text=True)
    assert "Company SSO is now linked" in html
    assert "<li><strong>Company SSO</strong>" in html
    assert "Link Company SSO" not in html


def test_settings_save(client, alice):
    about = "Tea\r\nand\x00 cake " + "é" * 260
    response = send(client, "/settings", nickname="  Alice_2 ", about=about)
    assert response.headers["Location"] == "/settings"
    db.session.refresh(alice)
    assert alice.nickname == "alice_2"
    assert alice.about == "Tea\nand cake " + "é" * 260
    assert "Your settings are saved." in client.get("/settings").get_data(as_text=True)


@pytest.mark.parametrize(
    ("nickname", "about", "message"),
    [
        ("bad name!", "", "Use 1 to 24 characters"),
        ("", "", "Use 1 to 24 characters"),
        ("x" * 25, "", "Use 1 to 24 characters"),
        ("Settings", "", "is reserved for the site"),
        ("BOB", "", "That nickname is taken"),
        ("alice", "x" * 277, "Keep it to 280 characters; this has 281."),  # with " <i>"
    ],
)
def test_settings_refused_keep_what_was_typed(client, alice, make_user, nickname, about, message):
    make_user("bob")
    response = send(client, "/settings", nickname=nickname, about=about + " <i>")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert f'value="{nickname}"' in html
    assert f">\n{about} &lt;i&gt;</textarea>" in html
    db.session.refresh(alice)
    assert (alice.nickname, alice.about) == ("alice", "")


def test_settings_keep_own_nickname(client, alice):
    response = send(client, "/settings", nickname="ALICE", about="new")
    assert response.status_code == 302
    db.session.refresh(alice)
    assert (alice.nickname, alice.about) == ("alice", "new")


def test_settings_nickname_race(client, alice, make_user, monkeypatch):
    make_user("bob")
    # As if bob took the name between our check and our commit.
    monkeypatch.setattr(settings, "get_user_by_nickname", lambda nickname: None)
    response = send(client, "/settings", nickname="bob", about="typed")
    assert response.status_code == 422
    assert "That nickname is taken" in response.get_data(as_text=True)
    db.session.refresh(alice)
    assert alice.nickname == "alice"


# Performance: a fixed number of statements per page, however many posts it shows


@pytest.mark.parametrize("path", ["/", "/explore", "/u/bob"])
def test_statements_per_page_do_not_grow_with_posts(client, alice, make_user, statements, path):
    bob = make_user("bob")
    db.session.add(Follow(follower_id=alice.id, followed_id=bob.id))
    counts = []
    for count in (5, 50):
        add_posts(bob, count, prefix="bob")
        # As many other authors as posts, so that loading authors one by one would show.
        for author in [make_user(f"author{count}_{i}") for i in range(count)]:
            db.session.add(Follow(follower_id=alice.id, followed_id=author.id))
            add_posts(author, 1, prefix=author.nickname)
        statements.clear()
        response = client.get(path)
        assert response.status_code == 200
        assert len(bodies(response)) == min(20, count if path == "/u/bob" else 2 * count)
        counts.append(len(statements))
        db.session.execute(sa.delete(Post))
        db.session.commit()
    assert counts[0] == counts[1] <= 4, statements


def identities_of(user):
    query = sa.select(Identity.provider).where(Identity.user_id == user.id)
    return sorted(db.session.scalars(query))


def test_unlink_one_of_two_ways_to_sign_in(client, alice):
    google = Identity(user_id=alice.id, provider="google", subject="g-1")
    db.session.add_all([google, Identity(user_id=alice.id, provider="github", subject="h-1")])
    db.session.commit()
    resp = send(client, f"/settings/identities/{google.id}/unlink")
    assert resp.headers["Location"] == "/settings"
    assert "Google is unlinked" in client.get("/settings").get_data(as_text=True)
    assert identities_of(alice) == ["github"]


def test_the_last_way_to_sign_in_cannot_be_unlinked(client, alice):
    only = Identity(user_id=alice.id, provider="google", subject="g-1")
    db.session.add(only)
    db.session.commit()
    assert 'action="/settings/identities/' not in client.get("/settings").get_data(as_text=True)
    send(client, f"/settings/identities/{only.id}/unlink")
    assert "your only way to sign in" in client.get("/settings").get_data(as_text=True)
    assert identities_of(alice) == ["google"]


def test_someone_elses_identity_cannot_be_unlinked(client, alice, make_user):
    bob = make_user("bob")
    theirs = Identity(user_id=bob.id, provider="google", subject="g-2")
    db.session.add_all([theirs, Identity(user_id=bob.id, provider="github", subject="h-2")])
    db.session.commit()
    assert send(client, f"/settings/identities/{theirs.id}/unlink").status_code == 404
    assert identities_of(bob) == ["github", "google"]


def test_delete_account_needs_the_nickname_typed(client, alice):
    resp = send(client, "/settings/delete", confirm="alicia")
    assert resp.status_code == 422
    assert "Type your nickname, alice, to confirm" in resp.get_data(as_text=True)
    assert db.session.get(type(alice), alice.id) is not None


def test_delete_account_removes_everything_it_owns(client, alice, make_user):
    bob = make_user("bob")
    add_posts(alice, 3)
    add_posts(bob, 2, prefix="bob")
    db.session.add_all(
        [
            Identity(user_id=alice.id, provider="google", subject="g-1"),
            Follow(follower_id=alice.id, followed_id=bob.id),
            Follow(follower_id=bob.id, followed_id=alice.id),
        ]
    )
    db.session.commit()
    alice_id = alice.id
    resp = send(client, "/settings/delete", confirm=" Alice ")
    assert resp.headers["Location"] == "/login"
    db.session.expire_all()
    assert db.session.get(type(bob), alice_id) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Identity)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Follow)) == 0
    assert sorted(db.session.scalars(sa.select(Post.body))) == ["bob-0", "bob-1"]
    assert client.get("/settings").status_code == 302  # signed out


@pytest.fixture
def limited_client(database_url):
    """A signed-in client of an app whose posting limit is on and small."""
    from microblog import create_app
    from microblog.models import User
    from microblog.testing import IsolatedClient
    from tests.helpers import base_config

    app = create_app(base_config(database_url, RATELIMIT_ENABLED=True, POST_RATE_LIMIT="2/minute"))
    app.test_client_class = IsolatedClient
    with app.app_context():
        user = User(nickname="alice", email="alice@example.org")
        db.session.add(user)
        db.session.commit()
        client = app.test_client()
        sign_in_as(client, user)
        yield client
        db.session.remove()
        db.engine.dispose()


def test_posting_too_fast_is_a_429_that_keeps_the_text(limited_client):
    client = limited_client
    for i in range(2):
        assert send(client, "/", body=f"post {i}").status_code == 302
    resp = send(client, "/", body="my third thought")
    assert resp.status_code == 429
    html = resp.get_data(as_text=True)
    assert "posting faster than the site allows" in html
    assert "my third thought</textarea>" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == 2
