"""The API's list endpoints run a fixed number of SQL statements, however long the page."""

import pytest

from microblog.extensions import db
from microblog.social.models import Follow, Like, Notification, Post
from tests.social.helpers import START


def busy(alice, make_user, n, tag):
    """n people alice follows, each with a liked post that mentions and notifies her."""
    for i in range(n):
        author = make_user(f"{tag}{i}")
        db.session.add(Follow(follower_id=alice.id, followed_id=author.id))
        post = Post(user_id=author.id, body=f"@alice {i}", created_at=START)
        db.session.add(post)
        db.session.flush()
        db.session.add(Like(post_id=post.id, user_id=alice.id))
        db.session.add(Notification(recipient_id=alice.id, actor_id=author.id, kind="like",
                                    post_id=post.id))  # fmt: skip
    db.session.commit()


@pytest.mark.parametrize(
    "path", ["/timeline", "/explore", "/notifications", "/users/alice", "/users/a0_0/posts"]
)
def test_list_endpoints_use_a_fixed_number_of_statements(
    api, make_user, token_for, statements, path
):
    alice = make_user("alice")
    token = token_for(alice, "read")
    api("get", "/timeline", token)  # the token's first use writes its "last used"
    counts = []
    for n, tag in [(2, "a0_"), (15, "b0_")]:
        busy(alice, make_user, n, tag)
        statements.clear()
        response = api("get", path, token)
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 3, counts
