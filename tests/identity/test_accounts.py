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
from tests.helpers import signed_in_as


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


def test_link_by_email_off_refuses_to_join_an_existing_account(app):
    sign_in(app, "ann@example.org")  # an account whose Google identity vouches for ann@
    provider = get_provider("plain")
    strict = type(provider)(**{**provider.__dict__, "link_by_email": False})
    with app.test_request_context(), pytest.raises(SignInError, match="already exists"):
        accounts.sign_in(strict, profile("ann@example.org"))
    assert db.session.scalar(sa.select(sa.func.count(Identity.id))) == 1  # Google's only


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


def test_simultaneous_first_sign_ins_of_one_email_at_many_providers_make_one_user(app):
    errors = run_at_once(app, 8, lambda i: sign_in(app, "same@example.org", sub=f"s-{i}"))
    assert errors == []
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Identity.id))) == 8


def test_simultaneous_colliding_nicknames_are_all_distinct(app):
    errors = run_at_once(app, 8, lambda i: sign_in(app, f"sam@host{i}.example"))
    assert errors == []
    nicknames = sorted(db.session.scalars(sa.select(User.nickname)))
    assert len(nicknames) == len(set(nicknames)) == 8
    assert nicknames == sorted(["sam"] + [f"sam{n}" for n in range(2, 9)])


# --- which address joins which account, through the real views -------------------------


def users() -> list[User]:
    return list(db.session.scalars(sa.select(User).order_by(User.id)))


def test_an_address_the_provider_moved_away_from_no_longer_joins_the_account(app, fake_idp):
    owner, stranger = app.test_client(), app.test_client()
    fake_idp.sign_in(owner, email="old@corp.example", provider="google", sub="g-1")
    fake_idp.sign_in(owner, email="new@corp.example", provider="google", sub="g-1")
    # Someone else now has old@ (recycled by the company) and a GitHub account verifying it.
    resp = fake_idp.sign_in(stranger, email="old@corp.example", provider="github")
    assert resp.headers["Location"] == "/"
    first, second = users()
    assert signed_in_as(owner) == first.nickname and signed_in_as(stranger) == second.nickname
    assert [i.provider for i in first.identities] == ["google"]
    assert [(i.provider, i.email) for i in second.identities] == [("github", "old@corp.example")]
    assert first.email is None and second.email == "old@corp.example"  # taken over
    # The new address still links the owner's account.
    fake_idp.sign_in(app.test_client(), email="new@corp.example", provider="company")
    db.session.expire_all()
    assert sorted(i.provider for i in first.identities) == ["company", "google"]


def test_an_address_no_longer_verified_no_longer_joins_the_account(app, fake_idp):
    owner, stranger = app.test_client(), app.test_client()
    fake_idp.sign_in(owner, email="ann@example.org", provider="google", sub="g-1")
    fake_idp.sign_in(
        owner, email="ann@example.org", provider="google", sub="g-1", email_verified=False
    )
    assert signed_in_as(owner) == "ann"  # the identity itself still signs in
    fake_idp.sign_in(stranger, email="ann@example.org", provider="github")
    assert len(users()) == 2
    assert signed_in_as(stranger) != "ann"


def test_an_address_two_accounts_vouch_for_joins_neither(app, fake_idp):
    fake_idp.sign_in(app.test_client(), email="x@example.org", provider="google", sub="g-1")
    moved = app.test_client()
    fake_idp.sign_in(moved, email="y@example.org", provider="company", sub="c-1")
    fake_idp.sign_in(moved, email="x@example.org", provider="company", sub="c-1")
    third = app.test_client()
    resp = fake_idp.sign_in(third, email="x@example.org", provider="github")
    assert resp.headers["Location"].startswith("/login")
    assert "More than one account uses x@example.org" in third.get("/login").text
    assert len(users()) == 2 and signed_in_as(third) is None


def test_settings_shows_the_addresses_that_link_the_account(app, fake_idp):
    client = app.test_client()
    fake_idp.sign_in(client, email="old@corp.example", provider="google", sub="g-1")
    fake_idp.sign_in(client, email="new@corp.example", provider="google", sub="g-1")
    page = client.get("/settings").text
    assert "Addresses that link this account:" in page
    assert "<strong>new@corp.example</strong>" in page and "old@corp.example" not in page


@pytest.mark.parametrize(
    "lookalike",
    [
        "\u212aim@example.com",  # KELVIN SIGN: lower() makes it "k"
        "\uff4bim@example.com",  # FULLWIDTH k: NFKC makes it "k"
        "kim@example.com\u3000",  # IDEOGRAPHIC SPACE: str.strip() drops it
    ],
)
def test_an_address_that_only_looks_the_same_never_joins_the_account(app, fake_idp, lookalike):
    owner, stranger = app.test_client(), app.test_client()
    fake_idp.sign_in(owner, email="kim@example.com", provider="google")
    resp = fake_idp.sign_in(stranger, email=lookalike, provider="github")
    assert resp.headers["Location"] == "/"
    kim, other = users()
    assert [i.provider for i in kim.identities] == ["google"]
    assert signed_in_as(stranger) == other.nickname != "kim"
    assert other.email == lookalike


def test_ascii_case_is_all_that_is_folded():
    from microblog.identity.profiles import normalize_email

    assert normalize_email(" Ann.Smith@EXAMPLE.org\n") == "ann.smith@example.org"
    assert normalize_email("\u212aim@Example.com") == "\u212aim@example.com"
    assert normalize_email("STRASSE@x.de") != normalize_email("stra\u00dfe@x.de")
    assert normalize_email("no-at-sign") is None and normalize_email(42) is None
