"""Tokens: made in Settings and shown once, stored hashed, revocable, and only for /api/."""

import hashlib
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from microblog import create_app
from microblog.api.models import ApiToken
from microblog.extensions import db
from microblog.models import utcnow
from tests.helpers import base_config, csrf_token, sign_in_as

ROOT = Path(__file__).resolve().parents[2]


def make_token(client, name="my phone", scope="read write"):
    return client.post(
        "/settings/tokens",
        data={"csrf_token": csrf_token(client, "/settings/tokens"), "name": name, "scope": scope},
    )


def test_a_token_is_shown_once_stored_hashed_and_works(client, api, alice):
    sign_in_as(client, alice)
    assert 'href="/settings/tokens"' in client.get("/settings").get_data(as_text=True)
    response = make_token(client)
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    secret = re.search(r'id="new-token" value="(mbt_[^"]+)"', html).group(1)
    stored = db.session.scalars(sa.select(ApiToken)).one()
    assert stored.name == "my phone" and stored.scope == "read write"
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in stored.token_hash
    assert "Set-Cookie" not in response.headers or secret not in response.headers["Set-Cookie"]
    listing = client.get("/settings/tokens").get_data(as_text=True)
    assert "my phone" in listing and "never used" in listing and secret not in listing
    assert api("get", "/timeline", secret).status_code == 200
    assert "last used" in client.get("/settings/tokens").get_data(as_text=True)


def test_bad_names_and_scopes_are_explained_and_kept(client, alice):
    sign_in_as(client, alice)
    for name, scope, message in [
        ("", "read", "Give the token a name"),
        ("x" * 51, "read", "Keep it to 50 characters"),
        ("ok", "admin", "Choose what the token may do"),
    ]:
        response = make_token(client, name, scope)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
        assert f'value="{name}"' in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_a_revoked_token_stops_working(client, api, alice, bob, token_for):
    secret = token_for(alice)
    others = token_for(bob)
    sign_in_as(client, alice)
    token_id = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == alice.id))
    other_id = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == bob.id))
    form = {"csrf_token": csrf_token(client, "/settings/tokens")}
    client.post(f"/settings/tokens/{other_id}/revoke", data=form)  # not hers: nothing happens
    assert api("get", "/timeline", others).status_code == 200
    assert client.post(f"/settings/tokens/{token_id}/revoke", data=form).status_code == 302
    response = api("get", "/timeline", secret)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_last_used_is_written_at_most_every_few_minutes(api, alice, token_for):
    secret = token_for(alice, "read")
    api("get", "/timeline", secret)
    first = db.session.scalars(sa.select(ApiToken.last_used_at)).one()
    assert first is not None and utcnow() - first < timedelta(minutes=1)
    api("get", "/timeline", secret)
    assert db.session.scalars(sa.select(ApiToken.last_used_at)).one() == first
    db.session.execute(sa.update(ApiToken).values(last_used_at=first - timedelta(minutes=6)))
    db.session.commit()
    api("get", "/timeline", secret)
    assert db.session.scalars(sa.select(ApiToken.last_used_at)).one() > first


def test_no_token_or_a_wrong_one_is_a_401_problem(api, alice, token_for):
    token_for(alice)
    for header in [None, "Bearer mbt_wrong", "Basic YWxpY2U6eA==", "Bearer " + "mbt_" * 60]:
        headers = {"Authorization": header} if header else {}
        response = api("get", "/timeline", headers=headers)
        assert response.status_code == 401, header
        assert response.mimetype == "application/problem+json"
        assert response.json["status"] == 401 and "Bearer" in response.json["detail"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_never_signs_anyone_in_to_the_pages(client, alice, token_for):
    secret = token_for(alice)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/settings", headers=headers).status_code == 302  # to sign in
    assert "Sign in" in client.get("/", headers=headers).get_data(as_text=True)
    assert "Set-Cookie" not in client.get("/api/v1/timeline", headers=headers).headers


def test_a_browser_session_never_works_in_the_api(client, api, alice):
    """Cookies are dropped under /api/: a page on another site cannot use a visitor's session."""
    sign_in_as(client, alice)
    assert client.get("/settings").status_code == 200
    response = client.get("/api/v1/timeline")
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers
    written = client.post("/api/v1/posts", json={"body": "forged"})
    assert written.status_code == 401
    assert client.get("/settings").status_code == 200  # and the session is still there


def test_writes_need_no_csrf_token(database_url, alice):
    alice_id = alice.id  # read here: the other app below has a session of its own
    app = create_app(base_config(database_url, WTF_CSRF_ENABLED=True))
    from microblog.api.tokens import create_token
    from microblog.testing import IsolatedClient

    app.test_client_class = IsolatedClient
    with app.app_context():
        _, secret = create_token(alice_id, "script", "read write")
        response = app.test_client().post(
            "/api/v1/posts", json={"body": "hi"}, headers={"Authorization": f"Bearer {secret}"}
        )
        assert response.status_code == 201
        db.session.remove()
        db.engine.dispose()


def test_deleting_the_account_deletes_its_tokens(client, alice, token_for):
    token_for(alice)
    db.session.delete(alice)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


FIRST_REQUEST = """
import sys
from microblog import create_app
from tests.helpers import base_config

app = create_app(base_config(sys.argv[1]))
response = app.test_client().get("/api/v1/timeline", headers={"Authorization": sys.argv[2]})
print(response.status_code)
"""


def test_a_token_works_on_a_new_workers_first_request(database_url, alice, token_for):
    # A token's owner is attached without a query (reads.from_row): in a new process, before
    # anything has queried the ORM, that needs the mappers set up, which create_app does.
    secret = token_for(alice, scope="read")
    db.session.commit()
    done = subprocess.run(
        [sys.executable, "-c", FIRST_REQUEST, database_url, f"Bearer {secret}"],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip
    assert done.stdout.strip() == "200", done.stderr[-3000:]
