"""The API's notifications: the unread count, and marking them seen as the page does."""

import pytest

from microblog.extensions import db
from microblog.social.models import Block, Notification
from tests.helpers import sign_in_as


def tell(recipient, actor, count=1, kind="follow"):
    """Give recipient `count` unseen notifications from actor; return their ids, oldest first."""
    items = [Notification(recipient_id=recipient.id, actor_id=actor.id, kind=kind)
             for _ in range(count)]  # fmt: skip
    db.session.add_all(items)
    db.session.commit()
    return [n.id for n in items]


def seen_flags(user):
    db.session.expire_all()
    rows = db.session.query(Notification).filter_by(recipient_id=user.id).order_by(Notification.id)
    return [n.seen for n in rows]


def test_the_list_says_how_many_are_unread_and_marks_nothing_seen(api, alice, bob, token_for):
    tell(alice, bob, 3)
    token = token_for(alice, "read")
    for _ in range(2):  # twice: reading changed nothing
        response = api("get", "/notifications", token)
        assert response.status_code == 200
        assert response.json["unread"] == 3
        assert [n["seen"] for n in response.json["items"]] == [False] * 3
    assert seen_flags(alice) == [False] * 3


def test_seen_marks_them_all_and_answers_what_is_left(api, alice, bob, token_for):
    tell(alice, bob, 2)
    token = token_for(alice)
    response = api("post", "/notifications/seen", token)
    assert response.status_code == 200 and response.json == {"unread": 0}
    assert seen_flags(alice) == [True, True]
    listed = api("get", "/notifications", token).json
    assert listed["unread"] == 0 and [n["seen"] for n in listed["items"]] == [True, True]
    assert api("post", "/notifications/seen", token).json == {"unread": 0}  # again: harmless


def test_up_to_leaves_a_notification_that_came_after_the_list_unread(api, alice, bob, token_for):
    token = token_for(alice)
    tell(alice, bob, 2)
    shown = api("get", "/notifications", token).json["items"]
    tell(alice, bob, 1)  # arrives while the app shows the list
    response = api("post", "/notifications/seen", token, json={"up_to": shown[0]["id"]})
    assert response.status_code == 200 and response.json == {"unread": 1}
    assert seen_flags(alice) == [True, True, False]


def test_seen_touches_only_the_owners_notifications(api, alice, bob, make_user, token_for):
    carol = make_user("carol")
    tell(bob, carol, 2)
    tell(alice, carol, 1)
    assert api("post", "/notifications/seen", token_for(alice)).json == {"unread": 0}
    assert seen_flags(bob) == [False, False]


def test_a_read_token_cannot_mark_them_seen(api, alice, bob, token_for):
    tell(alice, bob, 1)
    response = api("post", "/notifications/seen", token_for(alice, "read"))
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert seen_flags(alice) == [False]


def test_the_unread_count_leaves_out_people_the_owner_does_not_see(
    api, alice, bob, make_user, token_for
):
    carol = make_user("carol")
    tell(alice, bob, 2)
    tell(alice, carol, 1)
    db.session.add(Block(blocker_id=alice.id, blocked_id=bob.id))
    db.session.commit()
    listed = api("get", "/notifications", token_for(alice, "read")).json
    assert listed["unread"] == 1 and len(listed["items"]) == 1


def test_the_notifications_page_clears_what_the_api_counts(api, client, alice, bob, token_for):
    tell(alice, bob, 2)
    token = token_for(alice, "read")
    assert api("get", "/notifications", token).json["unread"] == 2
    sign_in_as(client, alice)
    assert client.get("/notifications").status_code == 200
    assert api("get", "/notifications", token).json["unread"] == 0


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": "up_to=1", "content_type": "application/x-www-form-urlencoded"}, 415),
        ({"data": "{not json", "content_type": "application/json"}, 422),
        ({"json": []}, 422),
        ({"json": {"up_to": "7"}}, 422),
        ({"json": {"up_to": True}}, 422),
        ({"json": {"up_to": 0}}, 422),
        ({"json": {"up_to": 2**63}}, 422),
        ({"json": {"up_to": 1.5}}, 422),
    ],
)
def test_a_broken_up_to_is_a_clear_problem_and_marks_nothing(
    api, alice, bob, token_for, kwargs, status
):
    tell(alice, bob, 1)
    response = api("post", "/notifications/seen", token_for(alice), **kwargs)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.json["detail"]
    assert seen_flags(alice) == [False]


@pytest.mark.parametrize("body", [{}, {"up_to": None}])
def test_an_empty_object_or_a_null_up_to_marks_them_all(api, alice, bob, token_for, body):
    tell(alice, bob, 2)
    assert api("post", "/notifications/seen", token_for(alice), json=body).json == {"unread": 0}
    assert seen_flags(alice) == [True, True]
