"""Display names: from the provider at the first sign-in, then the person's own, beside @nickname."""

import pytest
import sqlalchemy as sa

from microblog.extensions import db
from microblog.models import User
from tests.helpers import csrf_token
from tests.social.helpers import add_posts, send


def only_user():
    return db.session.scalar(sa.select(User))


def test_the_first_sign_in_takes_the_providers_name(client, fake_idp):
    fake_idp.sign_in(client, email="ann@example.org", name="Ann Smith")
    assert only_user().display_name == "Ann Smith"


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        (None, ""),
        ("  Ann\n\tSmith\u202e  ", "Ann Smith"),
        ("A" * 80, "A" * 50),
    ],
)
def test_the_providers_name_is_tidied(client, fake_idp, name, kept):
    fake_idp.sign_in(client, email="ann@example.org", name=name)
    assert only_user().display_name == kept


def test_a_later_sign_in_never_overwrites_the_name(client, fake_idp):
    fake_idp.sign_in(client, email="ann@example.org", name="Ann Smith")
    send(client, "/settings", nickname="ann", about="", display_name="Annie")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/settings")})
    fake_idp.sign_in(client, email="ann@example.org", name="Ann Changed")
    assert only_user().display_name == "Annie"


def test_settings_change_the_name(client, alice):
    assert "Up to 50 characters" in client.get("/settings").get_data(as_text=True)
    response = send(
        client, "/settings", nickname="alice", about="", display_name=" Alice  Liddell "
    )
    assert response.status_code == 302
    db.session.refresh(alice)
    assert alice.display_name == "Alice Liddell"
    assert 'value="Alice Liddell"' in client.get("/settings").get_data(as_text=True)


def test_a_name_too_long_is_refused_and_kept(client, alice):
    typed = "Alice <b>" + "x" * 50
    response = send(client, "/settings", nickname="alice", about="hi", display_name=typed)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Keep it to 50 characters; this has 59." in html
    assert 'value="Alice &lt;b&gt;' + "x" * 50 + '"' in html
    db.session.refresh(alice)
    assert alice.display_name == ""


def test_the_name_shows_beside_the_nickname(client, make_user):
    bob = make_user("bob", display_name="Bob <Builder> \u05d1")
    add_posts(bob, 1)
    for path in ("/explore", "/u/bob", "/p/1"):
        html = client.get(path).get_data(as_text=True)
        assert '<bdi class="display-name">Bob &lt;Builder&gt; \u05d1</bdi> ' in html or (
            path == "/u/bob" and "<bdi>Bob &lt;Builder&gt; \u05d1</bdi>" in html
        ), path
        assert '<span class="nickname">@bob</span>' in html or "@bob</p>" in html, path


def test_without_a_name_the_nickname_stands_alone(client, make_user):
    add_posts(make_user("bob"), 1)
    html = client.get("/explore").get_data(as_text=True)
    assert '<a class="person" href="/u/bob"><span class="nickname">@bob</span></a>' in html
