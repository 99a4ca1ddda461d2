"""A small OpenID Connect provider for tests, served on a real port inside the test process.

It speaks the authorization-code flow: discovery, JWKS, /authorize (signs the configured person in at
once), /token (an RS256-signed ID token carrying the nonce) and /userinfo. `sign_with` lets a test make it
sign with a key its JWKS does not publish, to prove tejun checks signatures.
"""

from __future__ import annotations

import secrets
import threading
import time
from urllib.parse import urlencode

from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server


class Provider:
    def __init__(self, client_id: str = "tejun", client_secret: str = "s3cret"):
        self.client_id, self.client_secret = client_id, client_secret
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.sign_with = self.key
        self.person: dict = {}
        self.codes: dict[str, dict] = {}
        self.app = self._build()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Provider:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()

    def _build(self) -> Flask:
        app = Flask("oidc-provider")

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(
                issuer=self.issuer,
                authorization_endpoint=f"{self.issuer}/authorize",
                token_endpoint=f"{self.issuer}/token",
                userinfo_endpoint=f"{self.issuer}/userinfo",
                jwks_uri=f"{self.issuer}/jwks",
                response_types_supported=["code"],
                subject_types_supported=["public"],
                id_token_signing_alg_values_supported=["RS256"],
                token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
            )

        @app.get("/jwks")
        def jwks():
            return jsonify(keys=[self.key.as_dict(private=False)])

        @app.get("/authorize")
        def authorize():
            args = request.args
            assert args["client_id"] == self.client_id and args["response_type"] == "code"
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"nonce": args.get("nonce"), "redirect_uri": args["redirect_uri"]}
            return redirect(f"{args['redirect_uri']}?{urlencode({'code': code, 'state': args['state']})}")

        @app.post("/token")
        def token():
            auth = request.authorization
            client_id = auth.username if auth else request.form.get("client_id")
            secret = auth.password if auth else request.form.get("client_secret")
            grant = self.codes.pop(request.form.get("code", ""), None)
            if client_id != self.client_id or secret != self.client_secret or grant is None:
                return jsonify(error="invalid_grant"), 400
            now = int(time.time())
            claims = {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 300,
                      "nonce": grant["nonce"], **self.person}
            id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.sign_with)
            return jsonify(access_token="at-" + secrets.token_hex(8), token_type="Bearer", expires_in=300,
                           id_token=id_token)

        @app.get("/userinfo")
        def userinfo():
            return jsonify(self.person)

        return app
