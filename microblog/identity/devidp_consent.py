"""The development provider's authorization request, its "Sign in as" page and the way back."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .devidp_tokens import get_idp
from .providers import Provider
from .urls import is_loopback

EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+")
AUTHORIZE_PARAMS = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
                    "code_challenge", "code_challenge_method")  # fmt: skip
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def authorization_request(values: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    """Return the request's parameters and what is wrong with them (None when all is well)."""
    params = {k: values.get(k, "") for k in AUTHORIZE_PARAMS}
    provider = get_idp().provider
    # The relying party is this very app: a bad request is a bug to show, not to redirect.
    if params["client_id"] != provider.client_id:
        return params, f"Unknown client_id {params['client_id']!r}."
    if params["redirect_uri"] not in allowed_redirect_uris(provider):
        return params, f"The redirect_uri {params['redirect_uri']!r} is not this app's callback."
    if params["response_type"] != "code":
        return params, "Only response_type=code is supported."
    if "openid" not in params["scope"].split():
        return params, "The scope must include openid."
    if params["code_challenge_method"] != "S256" or not params["code_challenge"]:
        return params, "PKCE is required: send a code_challenge with code_challenge_method=S256."
    if not params["state"] or not params["nonce"]:
        return params, "Both state and nonce are required."
    return params, None


def allowed_redirect_uris(provider: Provider) -> set[str]:
    """This app's callback for the dev provider, on the issuer's host or the request's host."""
    path = url_for("auth.callback", name=provider.name)
    issuer = urlsplit(get_idp().issuer)
    # The request's host is a loopback one: devidp refuses every other before this runs.
    origins = {f"{issuer.scheme}://{issuer.netloc}", f"{request.scheme}://{request.host}"}
    if issuer.hostname and is_loopback(issuer.hostname) and issuer.port:
        # Opening the site as localhost while the issuer says 127.0.0.1 should still work.
        origins |= {f"{issuer.scheme}://{host}:{issuer.port}" for host in LOOPBACK_HOSTS}
    return {origin + path for origin in origins}


def person_problem(email: str) -> str | None:
    """Say what is wrong with the email typed on the form, or return None."""
    if not EMAIL_RE.fullmatch(email) or len(email) > 254:
        return "Enter an email such as ada@example.org."
    return None


def sign_in_form(
    params: dict[str, str],
    email: str = "",
    name: str = "",
    verified: bool = True,
    problem: str | None = None,
) -> str:
    """Render the "Sign in as" page, the request riding along in hidden fields."""
    return render_template("devidp/authorize.html", params=params, email=email, name=name,
                           verified=verified, problem=problem)  # fmt: skip


def error_page(problem: str) -> tuple[str, int]:
    """Show why the request was refused, without sending the browser anywhere."""
    return render_template("devidp/error.html", problem=problem), 400


def back(params: dict[str, str], **answer: str) -> Response:
    """Redirect to the client with the answer, its state and our issuer (RFC 9207)."""
    query = urlencode({**answer, "state": params["state"], "iss": get_idp().issuer})
    separator = "&" if "?" in params["redirect_uri"] else "?"
    return redirect(f"{params['redirect_uri']}{separator}{query}")
