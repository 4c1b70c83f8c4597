"""Nicknames from emails, and finding or creating the user behind a sign-in."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from microblog import nicknames
from microblog.extensions import db
from microblog.identity import accounts
from microblog.identity.client import Profile, SignInError
from microblog.identity.models import Identity
from microblog.identity.registry import get_provider
from microblog.models import User


@pytest.mark.parametrize(
    ("email", "nickname"),
    [
        ("bob@example.org", "bob"),
        ("Bob.Smith@example.org", "bob_smith"),
        ("bob+news@example.org", "bob"),
        ("bob+news+more@example.org", "bob"),
        ("José.Núñez@example.org", "jose_nunez"),
        ("Ærøskøbing@example.org", "rskbing"),
        ("björk-guðmundsdóttir@example.is", "bjork_gumundsdottir"),
        ("a..b--c@example.org", "a_b_c"),
        ("under_score@example.org", "under_score"),
        ("x" * 40 + "@example.org", "x" * 24),
        ("+tag@example.org", "user"),
        ("李小龍@example.cn", "user"),
        ("...@example.org", "_"),
        ("007@example.org", "007"),
        ('"odd@local"@example.org', "_odd_local_"),
    ],
)
def test_nickname_from_email(email, nickname):
    assert nicknames.nickname_from_email(email) == nickname


def profile(email: str, sub: str | None = None, verified: bool = True) -> Profile:
    return Profile(subject=sub or f"sub-{email}", email=email, email_verified=verified)


def sign_in(app, email: str, provider: str = "google", **kw) -> User:
    with app.test_request_context():
        return accounts.sign_in(get_provider(provider), profile(email, **kw))


def test_taken_nicknames_get_the_smallest_free_number(app):
    nicknames = [sign_in(app, f"bob@{domain}.example").nickname for domain in "abcd"]
    assert nicknames == ["bob", "bob2", "bob3", "bob4"]


def test_a_freed_number_is_reused(app, make_user):
    make_user(nickname="bob")
    make_user(nickname="bob3")
    assert sign_in(app, "bob@x.example").nickname == "bob2"
    assert sign_in(app, "bob@y.example").nickname == "bob4"


def test_long_nickname_stays_within_24_characters_with_its_number(app, make_user):
    base = "a" * 24
    make_user(nickname=base)
    user = sign_in(app, base + "@example.org")
    assert user.nickname == "a" * 23 + "2"


@pytest.mark.parametrize("name", ["admin", "login", "settings", "explore", "api", "static"])
def test_reserved_names_are_never_given_out(app, name):
    assert sign_in(app, f"{name}@example.org").nickname == f"{name}2"


def test_nickname_problem():
    assert nicknames.nickname_problem("good_name1") is None
    assert "reserved" in nicknames.nickname_problem("logout")
    for bad in ["", "Bad", "a-b", "a b", "x" * 25, "émile"]:
        assert "1 to 24 characters" in nicknames.nickname_problem(bad)


def test_link_by_email_off_refuses_to_join_an_existing_account(app, make_user):
    make_user(nickname="ann", email="ann@example.org")
    provider = get_provider("plain")
    strict = type(provider)(**{**provider.__dict__, "link_by_email": False})
    with app.test_request_context(), pytest.raises(SignInError, match="already exists"):
        accounts.sign_in(strict, profile("ann@example.org"))
    assert db.session.scalar(sa.select(sa.func.count(Identity.id))) == 0


def run_at_once(app, count: int, work) -> list[BaseException]:
    """Run work(i) in `count` threads released together; return what they raised."""
    barrier, errors = threading.Barrier(count), []

    def worker(i: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                work(i)
            except BaseException as exc:  # noqa: BLE001 - reported to the test
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors


def test_simultaneous_first_sign_ins_with_one_email_make_one_user(app):
    errors = run_at_once(app, 8, lambda i: sign_in(app, "same@example.org", sub="one-subject"))
    assert errors == []
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Identity.id))) == 1


def test_simultaneous_colliding_nicknames_are_all_distinct(app):
    errors = run_at_once(app, 8, lambda i: sign_in(app, f"sam@host{i}.example"))
    assert errors == []
    nicknames = sorted(db.session.scalars(sa.select(User.nickname)))
    assert len(nicknames) == len(set(nicknames)) == 8
    assert nicknames == sorted(["sam"] + [f"sam{n}" for n in range(2, 9)])
