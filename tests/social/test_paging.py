"""Paging is pure: cursors in, positions or BrokenCursor out, pages cut from rows."""

from datetime import UTC, datetime, timedelta

import pytest

from microblog.social.paging import BrokenCursor, Window, decode_cursor, encode_cursor

START = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_cursor_round_trips():
    position = (START + timedelta(microseconds=7), 42)
    assert decode_cursor(encode_cursor(*position)) == position


@pytest.mark.parametrize("token", ["", "!", "A", encode_cursor(START, 1)[:-3] + "~~"])
def test_a_broken_cursor_raises_a_domain_error(token):
    with pytest.raises(BrokenCursor):
        Window.from_cursors(token, None, 20)
    with pytest.raises(BrokenCursor):
        Window.from_cursors(None, token, 20)


def test_no_cursor_is_the_first_page():
    assert Window.from_cursors(None, None, 20) == Window(None, None, 20)


def rows(n):
    return [(START + timedelta(minutes=i), i + 1) for i in range(n)]


def test_newest_first_pages():
    window = Window(None, None, 3)
    page = window.page(list(reversed(rows(5))), lambda r: r)  # the query walks down
    assert [r[1] for r in page.items] == [5, 4, 3]
    assert page.newer is None and decode_cursor(page.older) == rows(5)[2]


def test_oldest_first_pages():
    first = Window(None, None, 3, oldest_first=True)
    page = first.page(rows(5), lambda r: r)  # the query walks up
    assert [r[1] for r in page.items] == [1, 2, 3]
    assert page.older is None and decode_cursor(page.newer) == rows(5)[2]
    back = Window(rows(5)[3], None, 3, oldest_first=True)  # "Earlier" from item 4
    page = back.page(list(reversed(rows(3))), lambda r: r)  # walks down, shown forwards
    assert [r[1] for r in page.items] == [1, 2, 3]
    assert page.older is None and decode_cursor(page.newer) == rows(5)[2]
