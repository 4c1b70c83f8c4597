"""What people write: cleaning it, checking its length, showing it as HTML, and showing times."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from flask import request, url_for
from markupsafe import Markup, escape

from ..models import utcnow
from ..plaintext import neutralise
from .tags import TAG_RUN, normalise, tag_part

if TYPE_CHECKING:
    from .models import Post

POST_MAX_CHARS = 280
ABOUT_MAX_CHARS = 280  # the width of the user.about column

# A link runs to the first space, angle bracket, quote or backtick, so that nothing typed
# can close the href attribute; a mention is @ plus a nickname that is not part of an email.
# An address may also start with www. ("www.example.com/path"), then it is an https one.
# A hashtag is # plus letters (tags.tag_part), not inside a word, an address or an &#entity.
TOKEN_RE = re.compile(
    r"(?P<url>(?i:https?)://[^\s<>\"'`]+|(?<![\w@./:-])(?i:www\.)[^\s<>\"'`]+)"
    r"|(?<![\w@/])@(?P<nickname>[A-Za-z0-9_]{1,24})(?![\w@])"
    rf"|(?<![\w#&])#(?P<tag>{TAG_RUN})"
)
# Punctuation that ends a sentence more often than it ends a link.
TRAILING_PUNCTUATION = ".,:;!?*"
# A nickname that no address holds anywhere else: where person_url puts the real one.
NICKNAME_MARKER = "0nickname0here0"
BRACKETS = {")": "(", "]": "["}


def clean_text(raw: str) -> str:
    """Return raw trimmed, with \\n line ends, composed characters, no other control characters."""
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    return neutralise("".join(c for c in text if c == "\n" or unicodedata.category(c) != "Cc"))


def post_problem(body: str) -> str | None:
    """Say why a cleaned post body cannot be published, or return None."""
    if not body:
        return "Write something before posting."
    if len(body) > POST_MAX_CHARS:
        return f"Posts can be {POST_MAX_CHARS} characters at most; this one has {len(body)}."
    return None


def profile_url(nickname: str) -> str:
    """Return the path of a profile: url_for's answer, its prefix built once per worker."""
    return _prefixes(request.script_root)[0] + nickname


def person_link(person: Any) -> Markup:
    """Return a person's display name (if any) beside their @nickname, linked to their profile
    (a User, an author's or an actor's row): markup built in one call, not a template macro,
    as lists draw one a row. It starts on a line of its own, as the macro's did."""
    nickname, name = person.nickname, person.display_name
    shown = f'<bdi class="display-name">{escape(name)}</bdi> ' if name else ""
    link = f'<a class="person" href="{escape(profile_url(nickname))}">{shown}'
    return Markup(f'\n{link}<span class="nickname">@{escape(nickname)}</span></a>')


def person_url(endpoint: str, nickname: str, **values: str) -> str:
    """Return url_for(endpoint, nickname=nickname, **values), for the pages and actions of a
    person (a stored nickname, which needs no quoting): what goes around it built once per
    worker, site prefix and values. A profile draws eight of these."""
    before, after = _around_nickname(request.script_root, endpoint, tuple(sorted(values.items())))
    return before + nickname + after


@lru_cache(maxsize=64)
def _around_nickname(
    script_root: str, endpoint: str, values: tuple[tuple[str, str], ...]
) -> tuple[str, str]:
    arguments: dict[str, Any] = {"nickname": NICKNAME_MARKER, **dict(values)}
    url = url_for(endpoint, **arguments)
    before, marker, after = url.partition(NICKNAME_MARKER)
    assert marker and NICKNAME_MARKER not in after, f"{endpoint}: no one place for the nickname"
    return before, after


@lru_cache(maxsize=16)
def _prefixes(script_root: str) -> tuple[str, str, str]:
    """The paths of a profile, a post and a tag page but their last character, once per site
    prefix: nicknames, post ids and quoted tags need no quoting of their own."""
    return (
        url_for("views.profile", nickname="x")[:-1],
        url_for("views.thread", post_id=1)[:-1],
        url_for("views.tag", tag="x")[:-1],
    )


@lru_cache(maxsize=256)
def _fixed_url(script_root: str, endpoint: str, filename: str | None) -> str:
    return url_for(endpoint, filename=filename) if filename else url_for(endpoint)


def fixed_url(endpoint: str, filename: str | None = None) -> str:
    """Return url_for(endpoint) for an endpoint without arguments (or a static file), built
    once per worker and site prefix: every page's navigation has a dozen of them."""
    return _fixed_url(request.script_root, endpoint, filename)


def mentioned_names(text: str) -> set[str]:
    """Return the nicknames text mentions, lowercased (those inside addresses are not)."""
    return {m.group("nickname").lower() for m in TOKEN_RE.finditer(text) if m.group("nickname")}


def post_url(post_id: int, action: str = "") -> str:
    """Return the path of a post's page (or of an action on it)."""
    prefix = _prefixes(request.script_root)[1]
    return f"{prefix}{post_id}/{action}" if action else f"{prefix}{post_id}"


def hashtags(text: str) -> set[str]:
    """Return the tags text carries, normalised (a # inside a web address is no tag)."""
    runs = (m.group("tag") for m in TOKEN_RE.finditer(text) if m.group("tag"))
    return {normalise(tag) for tag in map(tag_part, runs) if tag}


def tag_url(tag: str) -> str:
    """Return the path of a tag's page (normalised tag)."""
    return _prefixes(request.script_root)[2] + quote(tag, safe="")


def render_text(text: str) -> Markup:
    """Return text as HTML: escaped, line breaks kept, addresses, @nicknames and #tags linked."""
    return _render(text, profile_url(""), tag_url(""), None)


def render_post(post: Post) -> Markup:
    """Return a post as HTML, its @mentions linked to whom they named when it was written."""
    return _render(post.body, profile_url(""), tag_url(""), post.mention_map or "")


# A page shows the same posts to everyone: render each once per worker. The key holds what
# can change the HTML: the page prefixes (a mounted site) and where each mention leads now.
@lru_cache(maxsize=4096)
def _render(text: str, profile_prefix: str, tag_prefix: str, mention_map: str | None) -> Markup:
    text = neutralise(text)  # also text stored before it was cleaned this way
    mentions = None if mention_map is None else dict(_pairs(mention_map))
    parts: list[str] = []
    end = 0
    for match in TOKEN_RE.finditer(text):
        link = _link(match, profile_prefix, tag_prefix, mentions)
        parts += [escape(text[end : match.start()]), link]
        end = match.end()
    parts.append(escape(text[end:]))
    return Markup("".join(parts)).replace("\n", Markup("<br>\n"))


def _pairs(mention_map: str) -> list[tuple[str, str]]:
    return [
        (name, nickname) for name, _, nickname in (p.partition("=") for p in mention_map.split())
    ]


def _link(
    match: re.Match[str], profile_prefix: str, tag_prefix: str, mentions: dict[str, str] | None
) -> Markup:
    """Link one token; with `mentions`, only the @names resolved when the post was written."""
    if run := match.group("tag"):
        if not (tag := tag_part(run)):
            return escape(match.group(0))
        href = tag_prefix + quote(normalise(tag), safe="")
        return Markup('<a class="hashtag" href="{}">#{}</a>').format(href, tag) + escape(
            run[len(tag) :]
        )
    if nickname := match.group("nickname"):
        target = nickname.lower() if mentions is None else mentions.get(nickname.lower())
        if target is None:  # named no one when written: plain text, never a stranger's page
            return escape(match.group(0))
        href = profile_prefix + target
        return Markup('<a class="mention" href="{}">@{}</a>').format(href, nickname)
    url, trailing = _split_trailing(match.group("url"))
    bare = "://" not in url  # www.example.com/path
    href = "https://" + url if bare else url
    try:
        host = urlsplit(href).hostname or ""
    except ValueError:  # e.g. an unclosed [IPv6 address
        host = ""
    if not host or (bare and "." not in host.strip(".")):
        return escape(match.group("url"))
    link = Markup('<a href="{}" rel="nofollow ugc noopener">{}</a>').format(href, url)
    return link + escape(trailing)


def _split_trailing(url: str) -> tuple[str, str]:
    """Split off what ends the sentence, not the link: "(see https://x.org/a_(b))." keeps "(b)"."""
    kept = url.rstrip(TRAILING_PUNCTUATION)
    while kept and kept[-1] in BRACKETS and kept.count(kept[-1]) > kept.count(BRACKETS[kept[-1]]):
        kept = kept[:-1].rstrip(TRAILING_PUNCTUATION)
    return kept, url[len(kept) :]


def timeago(moment: datetime, now: datetime | None = None) -> str:
    """Say how long ago moment was ("5 minutes ago"), or its date once a month has passed."""
    seconds = int(((now or utcnow()) - moment).total_seconds())
    if seconds < 60:  # also a moment slightly ahead of this server's clock
        return "just now"
    for unit, size, limit in (("minute", 60, 60), ("hour", 3600, 24), ("day", 86400, 30)):
        count = seconds // size
        if count < limit:
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return long_date(moment)


def time_tag(moment: datetime, now: datetime | None = None) -> Markup:
    """Return a <time> saying how long ago moment was, its exact UTC time on hover.

    Built without escaping: dates and times hold only digits, month names and punctuation.
    """
    iso, exact = iso_utc(moment), exact_utc(moment)
    return Markup(f'<time datetime="{iso}" title="{exact}">{timeago(moment, now)}</time>')


MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()  # English, as the site is


def long_date(moment: datetime) -> str:
    """Return the UTC date as "3 Mar 2025" (strftime has no portable day without a zero)."""
    m = moment.astimezone(UTC)
    return f"{m.day} {MONTHS[m.month - 1]} {m.year}"


def iso_utc(moment: datetime) -> str:
    """Return moment as ISO 8601 UTC with a Z, as <time datetime> expects."""
    m = moment.astimezone(UTC)
    return f"{m.year:04}-{m.month:02}-{m.day:02}T{m.hour:02}:{m.minute:02}:{m.second:02}Z"


def exact_utc(moment: datetime) -> str:
    """Return moment for people to read exactly: "3 Mar 2025, 14:05 UTC"."""
    m = moment.astimezone(UTC)
    return f"{m.day} {MONTHS[m.month - 1]} {m.year}, {m.hour:02}:{m.minute:02} UTC"
