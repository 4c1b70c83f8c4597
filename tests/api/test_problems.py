"""Every error under /api/ is an RFC 9457 problem document; the pages keep their own."""

import pytest

from microblog import create_app
from microblog.api import views
from microblog.extensions import db
from tests.helpers import base_config

PROBLEM = "application/problem+json"


def test_unknown_addresses_are_404_problems(client, api, alice, token_for):
    for path in ["/nothing", "/posts/0", "/posts/99999999999", "/users/" + "x" * 30]:
        response = api("get", path, token_for(alice, "read"))
        assert response.status_code == 404, path
        assert response.mimetype == PROBLEM
        assert response.json["type"] == "about:blank" or response.json["type"].startswith("/api")
        assert response.json["title"] and response.json["detail"]
    assert "<html" in client.get("/nothing").get_data(as_text=True)  # the site's own 404


def test_a_wrong_method_is_a_405_problem_with_allow(api, alice, token_for):
    response = api("put", "/timeline", token_for(alice))
    assert response.status_code == 405 and response.mimetype == PROBLEM
    assert "GET" in response.headers["Allow"]
    assert response.json["status"] == 405


def test_too_many_requests_per_token_is_a_429_problem(database_url, make_user):
    carol_id = make_user("carol").id  # made here: the other app below has a session of its own
    app = create_app(base_config(database_url, RATELIMIT_ENABLED=True, API_RATE_LIMIT="2/minute"))
    from microblog.api.tokens import create_token
    from microblog.models import User
    from microblog.testing import IsolatedClient

    app.test_client_class = IsolatedClient
    with app.app_context():
        user = db.session.get(User, carol_id)
        first, second = (create_token(user.id, n, "read")[1] for n in ("one", "two"))
        client = app.test_client()

        def get(secret):
            return client.get("/api/v1/timeline", headers={"Authorization": f"Bearer {secret}"})

        assert [get(first).status_code for _ in range(3)] == [200, 200, 429]
        limited = get(first)
        assert limited.mimetype == PROBLEM and limited.json["status"] == 429
        assert int(limited.headers["Retry-After"]) > 0
        assert get(second).status_code == 200  # each token has its own count
        db.session.remove()
        db.engine.dispose()


def test_a_server_error_is_a_500_problem(app, api, alice, token_for, monkeypatch):
    monkeypatch.setattr(views, "timeline_authors", lambda _id: 1 / 0)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = api("get", "/timeline", token_for(alice))
    assert response.status_code == 500 and response.mimetype == PROBLEM
    assert "ZeroDivision" not in response.get_data(as_text=True)


@pytest.mark.parametrize("length", [70 * 1024])
def test_too_large_a_body_is_a_413_problem(api, alice, token_for, length):
    response = api("post", "/posts", token_for(alice), json={"body": "x" * length})
    assert response.status_code == 413 and response.mimetype == PROBLEM
