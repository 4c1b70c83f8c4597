"""oidc-provider-mock served over https on the rig's provider host (one process, one memory).

Run inside the provider's namespace: `python -m cluster.idp ADDRESS PORT CERT KEY CA`.

oidc-provider-mock sends no back-channel logout, so the rig adds the provider's half of it
(`POST /rig/backchannel-logout`): a logout token signed with the mock's own key (the one its
/jwks serves), posted server to server, no cookies, to each URL given, as a provider does.
"""

from __future__ import annotations

import secrets
import sys
import time
import warnings
from typing import Any

import flask
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

# Back-Channel Logout 1.0, section 2.4 (microblog.testing.logout.BACKCHANNEL_EVENT).
EVENT = "http://schemas.openid.net/event/backchannel-logout"
TIMEOUT = 15


def logout_token(key: dict[str, Any], issuer: str, audience: str, sub: str) -> str:
    """A logout token for every session of `sub` (the mock's ID tokens carry no `sid`)."""
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(12),
        "events": {EVENT: {}},
        "sub": sub,
    }
    header = {"alg": "RS256", "kid": key["kid"], "typ": "logout+jwt"}
    return jwt.encode(header, claims, RSAKey.import_key(key), algorithms=["RS256"])


def send_backchannel_logout(ca: str) -> flask.Response:
    """Post one logout token to each URL in turn (JSON: to: [url, ...]); answer what each said.

    The token is a new one for `sub` and `aud`, or, to replay it, the `token` sent before.
    """
    asked = flask.request.get_json()
    if "token" in asked:
        raw = asked["token"]
    else:
        # The mock keeps its key on its per-request storage: the key its /jwks publishes.
        key = flask.g.oidc_provider_mock_storage.jwk.as_dict(is_private=True)
        issuer = flask.request.host_url.rstrip("/")
        raw = logout_token(key, issuer, asked["aud"], asked["sub"])
    answers = []
    http = requests.Session()
    http.trust_env = False  # no proxy from the environment: the app hosts are on the rig's net
    for url in asked["to"]:
        sent = time.time()
        # As the load balancer would say it, when a URL names one app host directly.
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": flask.request.remote_addr}
        answer = http.post(
            url, data={"logout_token": raw}, headers=headers, verify=ca, timeout=TIMEOUT
        )
        answers.append(
            {
                "url": url,
                "sent": sent,
                "answered": time.time(),
                "status": answer.status_code,
                "server": answer.headers.get("X-Served-By", ""),
                "cache_control": answer.headers.get("Cache-Control", ""),
                "set_cookie": "Set-Cookie" in answer.headers,
            }
        )
    return flask.jsonify(token=raw, answers=answers)


def main(address: str, port: int, cert: str, key: str, ca: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it imports Authlib's deprecated authlib.jose
        import oidc_provider_mock

    app = oidc_provider_mock.app()
    app.add_url_rule(
        "/rig/backchannel-logout",
        "rig_backchannel_logout",
        lambda: send_backchannel_logout(ca),
        methods=["POST"],
    )
    server = make_server(address, port, app, threaded=True, ssl_context=(cert, key))
    print(f"provider listening on https://{address}:{port}", flush=True)
    server.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
