"""A fake identity provider on localhost for tests: real keys, real signed tokens, real HTTP.

Serves its JWKS (`/jwks`), OpenID Connect discovery, and an authorization-code token endpoint
(`/token`) that checks the PKCE verifier; the test decides what it answers (keys, claims, down).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that gave up waiting (timeout tests) is no error of the test's


class Key:
    """A signing key pair with its key id and algorithm."""

    def __init__(self, kind: str = "RSA", kid: str | None = None):
        self.kind = kind
        self.kid = kid or secrets.token_hex(4)
        if kind == "RSA":
            self.private = rsa.generate_private_key(
                public_exponent=65537, key_size=2048
            )
            self.alg = "RS256"
            self.jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            self.alg = "ES256"
            self.jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk.update(kid=self.kid, use="sig", alg=self.alg)

    def sign(self, claims: dict, **header) -> str:
        headers = {"kid": self.kid, **header}
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=headers)


class FakeIdP:
    def __init__(self):
        self.keys = [Key("RSA"), Key("EC")]
        self.hits: dict[str, int] = {}
        self.down = False  # answer 503
        self.hang = 0.0  # seconds to wait before answering
        self.codes: dict[str, dict] = {}  # code -> what /token gives for it
        self.client_id, self.client_secret = "noco-client", "noco-secret"
        # A public client (no secret: a single-page app) gets a JWT access token for the API.
        self.public_client_id = "noco-spa"
        # Files served under /spa/ (a single-page app on the provider's origin) and the
        # config.js written for it.
        self.spa_dir = None
        self.spa_config: dict = {}
        # Who signs in on the provider's own page (/authorize), for browser tests.
        self.login_claims: dict = {}
        self.server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = self.url + "/realms/test"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def key(self) -> Key:
        return self.keys[0]

    def jwks(self) -> dict:
        return {"keys": [k.jwk for k in self.keys]}

    def claims(self, **extra) -> dict:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": "noco-api",
            "sub": "user-1",
            "iat": now,
            "exp": now + 600,
        }
        claims.update(extra)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, key: Key | None = None, **extra) -> str:
        return (key or self.key).sign(self.claims(**extra))

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.url + "/authorize",
            "token_endpoint": self.url + "/token",
            "jwks_uri": self.url + "/jwks",
            "userinfo_endpoint": self.url + "/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def issue_code(self, params: dict, key: Key | None = None, **claims) -> str:
        """What the provider's login page would do: remember the request, hand out a code.
        `claims` go into the ID token (over the defaults); `key` signs it."""
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"params": params, "claims": claims, "key": key}
        return code

    def _token_response(self, form: dict) -> tuple[int, dict]:
        entry = self.codes.pop(form.get("code", ""), None)
        if entry is None or form.get("grant_type") != "authorization_code":
            return 400, {"error": "invalid_grant"}
        params = entry["params"]
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if params.get("code_challenge_method") != "S256" or challenge != params.get(
            "code_challenge"
        ):
            return 400, {"error": "invalid_grant", "error_description": "PKCE"}
        if form.get("redirect_uri") != params.get("redirect_uri"):
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri"}
        public = form.get("client_id") == self.public_client_id and not form.get(
            "client_secret"
        )
        if not public and (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return 401, {"error": "invalid_client"}
        if public:  # a single-page app: an access token for the API, signed
            access = (entry["key"] or self.key).sign(self.claims(**entry["claims"]))
            return 200, {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 600,
            }
        claims = self.claims(
            **{"aud": self.client_id, "nonce": params.get("nonce"), **entry["claims"]}
        )
        return 200, {
            "access_token": secrets.token_urlsafe(16),
            "token_type": "Bearer",
            "expires_in": 600,
            "id_token": (entry["key"] or self.key).sign(claims),
        }

    def _handler(self):
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _common(self) -> bool:
                path = urlsplit(self.path).path
                idp.hits[path] = idp.hits.get(path, 0) + 1
                if idp.hang:
                    time.sleep(idp.hang)
                if idp.down:
                    self._answer(503, {"error": "down"})
                    return False
                return True

            def _html(self, status: int, body: str, location: str | None = None):
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                if location:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(data)

            def _spa(self, name: str):
                if name == "config.js":
                    data = f"window.APP_CONFIG = {json.dumps(idp.spa_config)};".encode()
                else:
                    files = {p.name: p for p in idp.spa_dir.iterdir()}
                    if (name or "index.html") not in files:
                        return self._answer(404, {"error": "not found"})
                    data = files[name or "index.html"].read_bytes()
                kind = {"js": "text/javascript", "css": "text/css"}.get(
                    name.rpartition(".")[2], "text/html; charset=utf-8"
                )
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if not self._common():
                    return
                url = urlsplit(self.path)
                path = url.path
                if path == "/authorize":  # the provider's login page
                    link = "/authorize/approve?" + url.query
                    return self._html(
                        200,
                        f'<h1>Fake IdP</h1><a id="approve" href="{link}">Continue</a>',
                    )
                if path == "/authorize/approve":
                    params = {k: v[0] for k, v in parse_qs(url.query).items()}
                    code = idp.issue_code(params, **idp.login_claims)
                    back = (
                        f"{params['redirect_uri']}?code={code}&state={params['state']}"
                    )
                    return self._html(302, "", location=back)
                if path.startswith("/spa/") and idp.spa_dir is not None:
                    return self._spa(path[len("/spa/") :])
                if path == "/jwks":
                    return self._answer(200, idp.jwks())
                if path == "/realms/test/.well-known/openid-configuration":
                    return self._answer(200, idp.discovery())
                self._answer(404, {"error": "not found"})

            def do_POST(self):
                if not self._common():
                    return
                length = int(self.headers.get("Content-Length") or 0)
                form = {
                    k: v[0]
                    for k, v in parse_qs(self.rfile.read(length).decode()).items()
                }
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                    form.setdefault("client_id", user)
                    form.setdefault("client_secret", pw)
                if urlsplit(self.path).path == "/token":
                    return self._answer(*idp._token_response(form))
                self._answer(404, {"error": "not found"})

        return Handler
