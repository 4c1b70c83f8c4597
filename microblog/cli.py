"""Flask commands: `flask --app microblog providers`."""

from __future__ import annotations

import click
from flask import Flask, current_app, url_for

from .identity import all_providers, provider_dependence


def init_app(app: Flask) -> None:
    """Add the operators' commands to `flask --app microblog`."""
    app.cli.add_command(providers_command)


@click.command("providers")
@click.option(
    "--base-url", default=None, help="Public URL of the site, e.g. https://blog.example.com"
)
def providers_command(base_url: str | None) -> None:
    """List providers: name, title, kind, status, the URLs to register, who depends on it.

    The URLs: the callback, and for OpenID providers the post-logout redirect URI and the
    back-channel logout URI.
    """
    server = base_url or current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000"
    dependence = provider_dependence()
    if dependence is None:
        click.echo(
            "account counts unknown: the database is not migrated or not reachable", err=True
        )
    with current_app.test_request_context(base_url=server):
        for p in all_providers():
            status = "ready" if p.ready else f"off: {p.disabled_reason}"
            urls = [url_for("auth.callback", name=p.name, _external=True)]
            if p.kind == "oidc":
                urls += [url_for(f"auth.{view}", name=p.name, _external=True)
                         for view in ("signed_out", "backchannel_logout")]  # fmt: skip
            only = "?" if dependence is None else dependence.only_with.get(p.name, 0)
            needs = f"{only} {_accounts(only)} can sign in only with it"
            click.echo("\t".join([p.name, p.title, p.kind, status, *urls, needs]))
    for name, stranded in (dependence.removed if dependence else {}).items():
        gone = f"removed: {stranded} {_accounts(stranded)} can no longer sign in"
        click.echo(f"{name}\t-\t-\t{gone}\t-\t(in the database, not in providers.toml)")


def _accounts(n: int | str) -> str:
    return "account" if n == 1 else "accounts"
