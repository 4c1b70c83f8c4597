"""The front page for visitors, the favicon."""

import re
from datetime import timedelta

from tests.social.helpers import START, add_posts, bodies


def test_visitors_see_what_the_site_is_its_latest_posts_and_how_to_sign_in(client, make_user):
    add_posts(make_user("bob"), 12)
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<title>Welcome · microblog</title>" in html
    assert "A small microblog" in html and "No passwords" in html
    assert bodies(response) == [f"post-{i}" for i in range(11, 1, -1)]  # the latest ten
    assert '<a href="/explore">See more on Explore</a>' in html
    buttons = dict(re.findall(r'formaction="([^"]+)">Sign in with ([^<]+)</button>', html))
    assert buttons == {
        "/login/google": "Google",
        "/login/github": "GitHub",
        "/login/company": "Company SSO",
        "/login/plain": "Plain OAuth",
    }
    assert re.search(r'<form method="post" action="/login/google" class="providers">\s*'
                     r'<input type="hidden" name="csrf_token" value="[^"]+">', html)  # fmt: skip
    assert "Please sign in" not in html
    assert "/like" not in html and "/reply" not in html  # no buttons for visitors


def test_a_front_page_button_signs_in(client, fake_idp):
    html = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    started = client.post("/login/google", data={"csrf_token": token})
    assert started.status_code == 302
    done = client.get(fake_idp.authorize(started.headers["Location"]))
    assert done.headers["Location"] == "/"
    assert "Your timeline" in client.get("/").get_data(as_text=True)


def test_an_empty_site_says_so(client):
    assert "No one has posted yet. Sign in and be the first." in client.get("/").get_data(
        as_text=True
    )


def test_signed_in_the_home_page_is_the_timeline(client, alice, make_user):
    add_posts(make_user("bob"), 1)
    add_posts(alice, 1, start=START + timedelta(hours=1), prefix="mine")
    html = client.get("/").get_data(as_text=True)
    assert "Your timeline" in html and "A small microblog" not in html
    assert bodies(client.get("/")) == ["mine-0"]


def test_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert response.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    response.close()
    assert '<link rel="icon" href="/favicon.ico">' in client.get("/").get_data(as_text=True)
