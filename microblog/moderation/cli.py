"""`flask --app microblog admin add|remove|list`: operators named in the database."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import User
from . import actions
from .models import Operator


@click.group("admin")
def admin() -> None:
    """Name the site's operators (MICROBLOG_ADMINS names others)."""


def _user(nickname: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.nickname == nickname.strip().lower()))
    if user is None:
        raise click.ClickException(f"Nobody is called {nickname!r}: they must sign in once first.")
    return user


@admin.command("add")
@click.argument("nickname")
def add(nickname: str) -> None:
    """Make someone an operator: they get /admin/."""
    user = _user(nickname)
    done = actions.add_operator(user)
    click.echo(f"{user.nickname} is {'now' if done else 'already'} an operator.")


@admin.command("remove")
@click.argument("nickname")
def remove(nickname: str) -> None:
    """Stop someone being an operator (unless MICROBLOG_ADMINS names them)."""
    user = _user(nickname)
    done = actions.remove_operator(user)
    click.echo(f"{user.nickname} is {'no longer' if done else 'not'} an operator.")
    if actions.is_admin(user):
        click.echo("MICROBLOG_ADMINS still names them.")


@admin.command("list")
def list_operators() -> None:
    """List the operators: those added here, then those MICROBLOG_ADMINS names."""
    query = sa.select(User.nickname).join(Operator, Operator.user_id == User.id)
    for nickname in db.session.scalars(query.order_by(User.nickname)):
        click.echo(f"{nickname}\tadded with flask admin add")
    for name in current_app.config["ADMINS"]:
        click.echo(f"{name}\tMICROBLOG_ADMINS")
