"""Text that tries to pass for something else: bidi controls and towering combining marks."""

import sqlalchemy as sa

from microblog.extensions import db
from microblog.plaintext import MAX_MARKS
from microblog.social.models import Post
from tests.social.helpers import bodies, send

SPOOF = "https://evil.example/\u202egro.elpmaxe.www//:sptth"
SHOWN = "https://evil.example/gro.elpmaxe.www//:sptth"


def test_a_post_cannot_spoof_an_address(client, alice):
    assert send(client, "/", body=f"look {SPOOF}").status_code == 302
    assert db.session.scalar(sa.select(Post.body)) == f"look {SHOWN}"
    html = client.get("/explore").get_data(as_text=True)
    assert "\u202e" not in html
    assert f'<a href="{SHOWN}" rel="nofollow ugc noopener">{SHOWN}</a>' in html


def test_an_old_post_with_controls_is_shown_without_them(client, alice):
    db.session.add(Post(user_id=alice.id, body=f"{SPOOF} x\u0301\u0301\u0301\u0301\u0301\u0301"))
    db.session.commit()
    assert bodies(client.get("/explore")) == [
        f'<a href="{SHOWN}" rel="nofollow ugc noopener">{SHOWN}</a> x' + "\u0301" * MAX_MARKS
    ]


def test_about_cannot_spoof_an_address(client, alice):
    assert send(client, "/settings", nickname="alice", about=SPOOF).status_code == 302
    db.session.refresh(alice)
    assert alice.about == SHOWN
    html = client.get("/u/alice").get_data(as_text=True)
    assert "\u202e" not in html and f">{SHOWN}</a>" in html


def test_a_stack_of_marks_is_capped_when_posted(client, alice):
    assert send(client, "/", body="x" + "\u0301" * 279).status_code == 302
    assert db.session.scalar(sa.select(Post.body)) == "x" + "\u0301" * MAX_MARKS
