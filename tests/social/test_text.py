import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from flask import url_for

from microblog.plaintext import BIDI_CONTROLS, MAX_MARKS
from microblog.social.text import (
    clean_text,
    exact_utc,
    iso_utc,
    long_date,
    person_link,
    person_url,
    post_problem,
    render_text,
    timeago,
)

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def render(app):
    """render_text inside a request, where mentions can build profile URLs."""
    with app.test_request_context():
        yield render_text


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("  hello  ", "hello"),
        ("one\r\ntwo\rthree\n", "one\ntwo\nthree"),
        ("bell\x07 null\x00 tab\t esc\x1b del\x7f c1\x85", "bell null tab esc del c1"),
        ("e\u0301", "\u00e9"),  # composed: one character, as people count it
        ("\n\n  \t", ""),
    ],
)
def test_clean_text(raw, cleaned):
    assert clean_text(raw) == cleaned


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("", "Write something"),
        ("x" * 280, None),
        ("x" * 281, "this one has 281"),
        ("😀" * 280, None),
        ("😀" * 281, "280 characters at most"),
    ],
)
def test_post_problem(body, problem):
    result = post_problem(body)
    if problem is None:
        assert result is None
    else:
        assert problem in result


def test_text_is_escaped(render):
    assert render("<b>hi</b> & 'bye'") == "&lt;b&gt;hi&lt;/b&gt; &amp; &#39;bye&#39;"


def test_line_breaks_are_kept(render):
    assert render("one\ntwo\n\nthree") == "one<br>\ntwo<br>\n<br>\nthree"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (
            "see https://example.org/a?b=1&c=2 now",
            'see <a href="https://example.org/a?b=1&amp;c=2" rel="nofollow ugc noopener">'
            "https://example.org/a?b=1&amp;c=2</a> now",
        ),
        (
            "(at http://example.org/x.)",
            '(at <a href="http://example.org/x" rel="nofollow ugc noopener">'
            "http://example.org/x</a>.)",
        ),
        (
            "https://en.wikipedia.org/wiki/Flask_(web_framework), ok",
            '<a href="https://en.wikipedia.org/wiki/Flask_(web_framework)" '
            'rel="nofollow ugc noopener">https://en.wikipedia.org/wiki/Flask_(web_framework)</a>'
            ", ok",
        ),
        (
            'https://example.org/"onmouseover="alert(1)',
            '<a href="https://example.org/" rel="nofollow ugc noopener">https://example.org/</a>'
            "&#34;onmouseover=&#34;alert(1)",
        ),
    ],
)
def test_links(render, text, html):
    assert render(text) == html


@pytest.mark.parametrize(
    "text",
    [
        "javascript:alert(1)",
        "ftp://example.org/file",
        "https:// nothing",
        "https://[::1",
        "data:text/html,<script>alert(1)</script>",
    ],
)
def test_not_links(render, text):
    assert "<a " not in render(text)


def test_mentions_link_to_profiles(render):
    html = render("hi @Alice_1, and @bob!")
    assert '<a class="mention" href="/u/alice_1">@Alice_1</a>,' in html
    assert '<a class="mention" href="/u/bob">@bob</a>!' in html


@pytest.mark.parametrize(
    "text",
    ["mail me at bob@example.org", "@" + "a" * 25, "@@bob", "@ bob", "@bob@example.org"],
)
def test_not_mentions(render, text):
    assert "mention" not in render(text)


def test_mention_inside_a_link_stays_in_the_link(render):
    html = render("https://example.org/@bob")
    assert html.count("<a ") == 1
    assert 'href="https://example.org/@bob"' in html


@pytest.mark.parametrize(
    ("ago", "said"),
    [
        (timedelta(seconds=0), "just now"),
        (timedelta(seconds=59), "just now"),
        (timedelta(seconds=-30), "just now"),  # a server clock slightly behind
        (timedelta(minutes=1), "1 minute ago"),
        (timedelta(minutes=5, seconds=30), "5 minutes ago"),
        (timedelta(minutes=59, seconds=59), "59 minutes ago"),
        (timedelta(hours=1), "1 hour ago"),
        (timedelta(hours=23, minutes=59), "23 hours ago"),
        (timedelta(days=1), "1 day ago"),
        (timedelta(days=29), "29 days ago"),
        (timedelta(days=30), "22 Oct 2026"),
        (timedelta(days=400), "17 Oct 2025"),
    ],
)
def test_timeago(ago, said):
    assert timeago(NOW - ago, now=NOW) == said


def test_timeago_defaults_to_now():
    assert timeago(datetime.now(UTC) - timedelta(minutes=5)) == "5 minutes ago"


def test_times_are_shown_in_utc():
    paris = timezone(timedelta(hours=1))
    moment = datetime(2026, 3, 1, 0, 30, 15, 123456, tzinfo=paris)
    assert iso_utc(moment) == "2026-02-28T23:30:15Z"
    assert exact_utc(moment) == "28 Feb 2026, 23:30 UTC"
    assert long_date(moment) == "28 Feb 2026"


# Bidi controls and stacks of combining marks (issue 9, item 8)

SPOOF = "https://evil.example/\u202egro.elpmaxe.www//:sptth"


@pytest.mark.parametrize("control", sorted(BIDI_CONTROLS))
def test_clean_text_removes_bidi_controls(control):
    assert clean_text(f"a{control}b") == "ab"


def test_clean_text_caps_stacked_marks():
    assert clean_text("x" + "\u0301\u0302" * 140 + "ok") == "x" + "\u0301\u0302" * 2 + "ok"
    # Real writing keeps its marks: Vietnamese, Hindi, Hebrew with points.
    for word in ("Việt Nam", "हिन्दी", "שָׁלוֹם"):
        assert clean_text(word) == unicodedata.normalize("NFC", word)


def test_a_reversed_address_links_as_written(render):
    html = render(SPOOF)
    assert "\u202e" not in html
    assert html == (
        '<a href="https://evil.example/gro.elpmaxe.www//:sptth" rel="nofollow ugc noopener">'
        "https://evil.example/gro.elpmaxe.www//:sptth</a>"
    )


def test_stored_text_is_neutralised_when_shown(render):
    # Posts written before cleaning did this still show without controls or towering marks.
    assert render("a\u2067b\u2069 " + "e" + "\u0301" * 279) == "ab " + "e" + "\u0301" * MAX_MARKS


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (
            "see www.example.com/path.",
            'see <a href="https://www.example.com/path" rel="nofollow ugc noopener">'
            "www.example.com/path</a>.",
        ),
        (
            "WWW.Example.org",
            '<a href="https://WWW.Example.org" rel="nofollow ugc noopener">WWW.Example.org</a>',
        ),
        ("www. and www.", "www. and www."),
        ("mail me at bob@www.example.com", "mail me at bob@www.example.com"),
        (
            "https://a.example/www.b.example",
            '<a href="https://a.example/www.b.example" '
            'rel="nofollow ugc noopener">https://a.example/www.b.example</a>',
        ),
    ],
)
def test_www_addresses_become_links(render, text, html):
    assert render(text) == html


def test_post_mentions_link_only_to_whom_they_named(app):
    from microblog.social.models import Post
    from microblog.social.text import render_post

    post = Post(body="hi @Bob, @carol and @nobody")
    post.mention_map = "bob=robert carol=carol"
    with app.test_request_context():
        assert render_post(post) == (
            'hi <a class="mention" href="/u/robert">@Bob</a>, '
            '<a class="mention" href="/u/carol">@carol</a> and @nobody'
        )


def test_mentioned_names():
    from microblog.social.text import mentioned_names

    text = "@Bob @bob x@carol https://a.example/@dave @erin_2."
    assert mentioned_names(text) == {"bob", "erin_2"}


PERSON_PAGES = [
    ("views.profile", {}),
    ("views.user_feed", {}),
    ("views.people", {"direction": "followers"}),
    ("views.people", {"direction": "following"}),
    ("views.follow", {}),
    ("views.unfollow", {}),
    ("views.shut_out", {"action": "mute"}),
    ("views.let_in", {"action": "unblock"}),
    ("reports.report_user", {}),
]


@pytest.mark.parametrize("script_root", ["", "/blog"])
def test_person_urls_are_what_url_for_builds(app, script_root):
    for nickname in ("ann", "bob_2", "x"):
        with app.test_request_context("/", base_url=f"http://localhost{script_root}/"):
            for endpoint, values in PERSON_PAGES:
                built = url_for(endpoint, nickname=nickname, **values)
                assert built.startswith(f"{script_root}/")
                assert person_url(endpoint, nickname, **values) == built


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Ann <b>&\"'", '<bdi class="display-name">Ann &lt;b&gt;&amp;&#34;&#39;</bdi> '),
        (None, ""),
        ("", ""),
    ],
)
def test_a_person_link_names_them_escaped_and_links_their_profile(app, name, shown):
    person = SimpleNamespace(nickname="ann", display_name=name)
    with app.test_request_context("/", base_url="http://localhost/blog/"):
        link = person_link(person)
    assert (
        link
        == f'\n<a class="person" href="/blog/u/ann">{shown}<span class="nickname">@ann</span></a>'
    )
