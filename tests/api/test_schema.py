"""The API keeps to its OpenAPI document: schemathesis sends every operation hostile input.

In-process through WSGI, with a bounded number of examples per operation (about 30 s here).
Checks: no 5xx, every status and content type documented, bodies match their schemas.
"""

import contextvars

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from microblog.extensions import db
from microblog.social.models import Follow
from tests.social.helpers import add_posts

EXAMPLES = 12
# Not checked: "schema-valid input is accepted". Some input only the server can judge: a
# cursor that decodes to no position (400), a body of spaces (422, empty once trimmed). Both
# answers are documented problems, which the other checks hold to the document.


@pytest.fixture
def owner_token(app, make_user, token_for):
    """A person with posts, a follow and a reply, whose token schemathesis uses."""
    alice, bob = make_user("alice"), make_user("bob")
    db.session.add(Follow(follower_id=alice.id, followed_id=bob.id))
    add_posts(alice, 3, prefix="alice")
    add_posts(bob, 3, prefix="bob")
    return token_for(alice)


@pytest.fixture
def api_schema(app, owner_token):
    def isolated(environ, start_response):
        # A fresh context per request, as on a real server: no `g` carried between calls.
        return contextvars.Context().run(app.wsgi_app, environ, start_response)

    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", isolated)


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode))
def test_the_api_keeps_to_its_openapi_document(api_schema, owner_token, mode):
    """Every operation, with valid input (positive) and input that breaks the schema (negative).

    schemathesis's pytest decorators do not run on pytest 9, so hypothesis drives its
    strategies directly: the same cases and checks.
    """
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 15
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,  # the same examples every run: a failure here is never flaky
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case):
            case.call_and_validate(
                headers={"Authorization": f"Bearer {owner_token}"},
                excluded_checks=[positive_data_acceptance],
            )

        check()


def test_the_document_is_openapi_3_1_and_describes_every_route(app, client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"] == "3.1.0"
    described = {
        (method.upper(), "/api/v1" + path.replace("{", "<").replace("}", ">"))
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    routes = {
        (method, rule.rule.replace("int:", "").replace("nickname:", ""))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi_document"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert described == routes
