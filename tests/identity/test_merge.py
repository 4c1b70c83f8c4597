"""Merging two accounts from Settings: a fresh sign-in to the other one, a confirmation, and
its identities, posts and follows move here; it and its sessions end."""

from __future__ import annotations

import sqlalchemy as sa

from microblog.extensions import db
from microblog.identity import merge
from microblog.identity.models import Identity, SignIn, UserSession
from microblog.models import User
from microblog.social.models import Block, Follow, Like, Mute, Post
from microblog.testing import Person
from tests.helpers import csrf_token

ANN = Person(email="ann@example.org", sub="g-ann")
OLD_ANN = Person(email="ann.old@example.org", sub="gh-ann")


def user(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


def signed_in(client) -> bool:
    return client.get("/settings").status_code == 200


def prove(client, fake_idp, provider: str, person: Person):
    """Press "Sign in to the other account with ..." in Settings and sign in at the provider."""
    token = csrf_token(client, "/settings")
    data = {"csrf_token": token, "link": "1", "merge": "1"}
    location = client.post(f"/login/{provider}", data=data).headers["Location"]
    return client.get(fake_idp.authorize(location, person))


def confirm(client, **form: str):
    token = csrf_token(client, "/settings")
    return client.post("/settings/merge", data={"csrf_token": token, **form})


def follow(a: User, b: User) -> None:
    db.session.add(Follow(follower_id=a.id, followed_id=b.id))


def test_settings_offers_merging_with_every_provider(client, fake_idp):
    fake_idp.sign_in(client, provider="google", email=ANN.email, sub=ANN.sub)
    html = client.get("/settings").get_data(as_text=True)
    assert "Merge another account into this one" in html
    for title in ("Google", "GitHub", "Company SSO", "Plain OAuth"):
        assert f"Sign in to the other account with {title}</button>" in html


def test_merging_moves_identities_posts_and_follows_and_ends_the_other(app, client, fake_idp):
    old_browser = app.test_client()
    fake_idp.sign_in(old_browser, provider="github", email=OLD_ANN.email, sub=OLD_ANN.sub)
    fake_idp.sign_in(client, provider="google", email=ANN.email, sub=ANN.sub)
    ann, old = user(ANN.email), user(OLD_ANN.email)
    bob, cat = (User(nickname=n, email=f"{n}@example.org") for n in ("bob", "cat"))
    db.session.add_all([bob, cat])
    db.session.flush()
    follow(ann, bob), follow(old, bob), follow(old, cat)  # bob twice: one follow survives
    follow(old, ann), follow(ann, old)  # would become self-follows
    follow(bob, old), follow(bob, ann), follow(cat, old)  # followers: bob once, cat moves
    db.session.add_all([Post(user_id=ann.id, body="new"), Post(user_id=old.id, body="old")])
    db.session.commit()
    ann_id, old_id, old_nickname = ann.id, old.id, old.nickname
    [(github_subject,)] = [(i.subject,) for i in old.identities]

    resp = prove(client, fake_idp, "github", OLD_ANN)
    assert resp.headers["Location"] == "/settings/merge"
    page = client.get("/settings/merge").get_data(as_text=True)
    assert f"Merge {old_nickname} into your account?" in page and "GitHub" in page
    assert user(OLD_ANN.email) is not None  # nothing moves before the confirmation
    resp = confirm(client)

    assert resp.headers["Location"] == "/settings"
    assert f"{old_nickname} is merged into your account" in client.get("/settings").get_data(
        as_text=True
    )
    assert user(OLD_ANN.email) is None and db.session.get(User, old_id) is None
    identities = db.session.scalars(sa.select(Identity).where(Identity.user_id == ann_id))
    assert sorted((i.provider, i.subject) for i in identities) == [
        ("github", github_subject),
        ("google", "g-ann"),
    ]
    assert sorted(db.session.scalars(sa.select(Post.body).where(Post.user_id == ann_id))) == [
        "new",
        "old",
    ]
    follows = {(f.follower_id, f.followed_id) for f in db.session.scalars(sa.select(Follow))}
    assert follows == {(ann_id, bob.id), (ann_id, cat.id), (bob.id, ann_id), (cat.id, ann_id)}
    sign_ins = db.session.scalars(sa.select(SignIn.provider).where(SignIn.user_id == ann_id))
    assert sorted(sign_ins) == ["github", "google"]
    assert signed_in(client)
    assert not signed_in(old_browser)  # the other account's sessions ended
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 1


def test_merging_moves_likes_blocks_and_mutes_without_duplicates(app, client, fake_idp):
    fake_idp.sign_in(app.test_client(), provider="github", email=OLD_ANN.email, sub=OLD_ANN.sub)
    fake_idp.sign_in(client, provider="google", email=ANN.email, sub=ANN.sub)
    ann, old = user(ANN.email), user(OLD_ANN.email)
    bob = User(nickname="bob", email="bob@example.org")
    db.session.add(bob)
    db.session.flush()
    first, second = Post(user_id=bob.id, body="one"), Post(user_id=bob.id, body="two")
    db.session.add_all([first, second])
    db.session.flush()
    # Both liked the first post (one like survives); only the old account liked the second.
    db.session.add_all([Like(post_id=first.id, user_id=ann.id),
                        Like(post_id=first.id, user_id=old.id),
                        Like(post_id=second.id, user_id=old.id),
                        Block(blocker_id=old.id, blocked_id=bob.id),
                        Mute(muter_id=old.id, muted_id=ann.id)])  # fmt: skip
    db.session.commit()
    ann_id, bob_id, first_id, second_id = ann.id, bob.id, first.id, second.id

    prove(client, fake_idp, "github", OLD_ANN)
    assert confirm(client).headers["Location"] == "/settings"

    likes = {(like.post_id, like.user_id) for like in db.session.scalars(sa.select(Like))}
    assert likes == {(first_id, ann_id), (second_id, ann_id)}
    blocks = {(b.blocker_id, b.blocked_id) for b in db.session.scalars(sa.select(Block))}
    assert blocks == {(ann_id, bob_id)}
    assert db.session.scalars(sa.select(Mute)).all() == []  # muting oneself is no mute


def test_the_merged_identity_signs_in_to_the_account_that_stayed(app, client, fake_idp):
    fake_idp.sign_in(app.test_client(), provider="github", email=OLD_ANN.email, sub=OLD_ANN.sub)
    fake_idp.sign_in(client, provider="google", email=ANN.email, sub=ANN.sub)
    prove(client, fake_idp, "github", OLD_ANN)
    confirm(client)
    elsewhere = app.test_client()
    fake_idp.sign_in(elsewhere, provider="github", email=OLD_ANN.email, sub=OLD_ANN.sub)
    assert "ann@example.org" in elsewhere.get("/settings").get_data(as_text=True)


def test_never_without_fresh_proof(app, client, fake_idp):
    fake_idp.sign_in(app.test_client(), provider="github", email=OLD_ANN.email, sub=OLD_ANN.sub)
    fake_idp.sign_in(client, provider="google", email=ANN.email, sub=ANN.sub)
    resp = client.get("/settings/merge")
    assert resp.headers["Location"] == "/settings"
    confirm(client)
    assert "That merge had expired" in client.get("/settings").get_data(as_text=True)
    assert user(OLD_ANN.email) is not None


def test_a_stale_proof_is_refused(app, client, fake_idp):
    fake_idp.sign_in(app.test_client(), provider="github", email=OLD_ANN.email, sub=OLD_ANN.sub)
    fake_idp.sign_in(client, provider="google", email=ANN.email, sub=ANN.sub)
    prove(client, fake_idp, "github", OLD_ANN)
    with client.session_transaction() as s:
        s[merge.PROPOSAL_KEY] = {**s[merge.PROPOSAL_KEY], "at": 0}
    confirm(client)
    assert user(OLD_ANN.email) is not None


def test_the_proof_stays_in_the_browser_that_made_it(app, client, fake_idp):
    fake_idp.sign_in(app.test_client(), provider="github", email=OLD_ANN.email, sub=OLD_ANN.sub)
    fake_idp.sign_in(client, provider="google", email=ANN.email, sub=ANN.sub)
    other_tab_elsewhere = app.test_client()
    fake_idp.sign_in(other_tab_elsewhere, provider="google", email=ANN.email, sub=ANN.sub)
    prove(client, fake_idp, "github", OLD_ANN)
    confirm(other_tab_elsewhere)
    assert user(OLD_ANN.email) is not None


def test_cancel_merges_nothing_and_forgets_the_proof(app, client, fake_idp):
    fake_idp.sign_in(app.test_client(), provider="github", email=OLD_ANN.email, sub=OLD_ANN.sub)
    fake_idp.sign_in(client, provider="google", email=ANN.email, sub=ANN.sub)
    prove(client, fake_idp, "github", OLD_ANN)
    confirm(client, cancel="1")
    assert "Nothing was merged." in client.get("/settings").get_data(as_text=True)
    confirm(client)
    assert user(OLD_ANN.email) is not None


def test_a_provider_account_without_a_microblog_account_creates_nothing(client, fake_idp):
    fake_idp.sign_in(client, provider="google", email=ANN.email, sub=ANN.sub)
    resp = prove(client, fake_idp, "github", Person(email="new@example.org", sub="gh-new"))
    assert resp.headers["Location"] == "/settings"
    assert "has no microblog account, so there is nothing to merge" in client.get(
        "/settings"
    ).get_data(as_text=True)
    assert user("new@example.org") is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Identity)) == 1


def test_your_own_provider_account_is_nothing_to_merge(client, fake_idp):
    fake_idp.sign_in(client, provider="google", email=ANN.email, sub=ANN.sub)
    prove(client, fake_idp, "google", ANN)
    assert "already yours: nothing to merge" in client.get("/settings").get_data(as_text=True)
    assert client.get("/settings/merge").headers["Location"] == "/settings"


def test_merging_needs_a_signed_in_post_with_csrf(app, client, fake_idp):
    assert client.get("/settings/merge").headers["Location"].startswith("/login")
    fake_idp.sign_in(client, provider="google", email=ANN.email, sub=ANN.sub)
    assert client.post("/settings/merge").status_code == 400
