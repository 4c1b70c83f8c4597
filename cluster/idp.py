"""oidc-provider-mock served over https on the rig's provider host (one process, one memory).

Run inside the provider's namespace: `python -m cluster.idp ADDRESS PORT CERT KEY`.
"""

from __future__ import annotations

import sys
import warnings

from werkzeug.serving import make_server


def main(address: str, port: int, cert: str, key: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it imports Authlib's deprecated authlib.jose
        import oidc_provider_mock

    server = make_server(
        address, port, oidc_provider_mock.app(), threaded=True, ssl_context=(cert, key)
    )
    print(f"provider listening on https://{address}:{port}", flush=True)
    server.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])
