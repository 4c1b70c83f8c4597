"""`flask providers` tells operators which accounts depend on which provider."""

from __future__ import annotations

import sqlalchemy as sa

from microblog import create_app
from microblog.extensions import db
from microblog.identity.models import Identity
from tests.helpers import base_config

# Each person's identities; google, github, company and plain are in providers.test.toml.
ACCOUNTS = {
    "ann": ["google"],
    "bob": ["google", "github"],
    "cy": ["github", "github"],  # two GitHub accounts: still only GitHub
    "dee": ["company", "old-sso"],
    "eve": ["old-sso"],
    "fay": ["old-sso", "gone"],
}


def columns(output: str) -> dict[str, list[str]]:
    """Each line's columns after the name; who depends on a provider is the last one."""
    return {name: rest for name, *rest in (line.split("\t") for line in output.splitlines())}


def add_accounts(make_user) -> None:
    for nickname, providers in ACCOUNTS.items():
        user = make_user(nickname)
        for i, provider in enumerate(providers):
            db.session.add(Identity(user_id=user.id, provider=provider, subject=f"{nickname}{i}"))
    db.session.commit()


def test_each_provider_shows_the_accounts_that_sign_in_only_with_it(runner, make_user):
    add_accounts(make_user)
    result = runner.invoke(args=["providers"])
    assert result.exit_code == 0, result.output
    rows = columns(result.stdout)
    only = {name: rows[name][-1] for name in ("google", "github", "company", "plain")}
    assert only == {
        "google": "1 account can sign in only with it",  # ann; bob has GitHub too
        "github": "1 account can sign in only with it",  # cy
        "company": "1 account can sign in only with it",  # dee: old-sso is gone
        "plain": "0 accounts can sign in only with it",
    }


def test_providers_gone_from_the_file_are_listed_with_who_is_locked_out(runner, make_user):
    add_accounts(make_user)
    rows = columns(runner.invoke(args=["providers"]).stdout)
    assert list(rows)[-2:] == ["gone", "old-sso"]
    assert rows["old-sso"][2] == "removed: 2 accounts can no longer sign in"  # eve, fay
    assert rows["gone"][2] == "removed: 1 account can no longer sign in"  # fay
    assert rows["old-sso"][-1] == "(in the database, not in providers.toml)"


def test_the_counts_take_two_statements_however_many_accounts(app, runner, make_user):
    add_accounts(make_user)
    statements: list[str] = []
    sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    runner.invoke(args=["providers"])
    assert len([s for s in statements if "identity" in s]) == 2


def test_an_unmigrated_database_leaves_the_counts_unknown(tmp_path):
    app = create_app(base_config(f"sqlite:///{tmp_path / 'empty.sqlite'}"))
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["providers"])
        db.engine.dispose()
    assert result.exit_code == 0, result.output
    assert "account counts unknown: the database is not migrated" in result.stderr
    rows = columns(result.stdout)
    assert rows["google"][-1] == "? accounts can sign in only with it"
