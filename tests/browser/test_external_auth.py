"""External identity in a real browser: "Sign in with …" through an OpenID Connect provider
faked by the test, and a page on another origin calling the API with the provider's JWT
(CORS preflight included). A server of its own: the shared one has no provider configured."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from tests.browser.conftest import shot
from tests.conftest import LIVE_ROOT, LiveServer, _free_port
from tests.idp import FakeIdP

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def idp():
    server = FakeIdP()
    yield server
    server.close()


@pytest.fixture(scope="module")
def server(idp, tmp_path_factory):
    var = tmp_path_factory.mktemp("extauth-var")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.local",
        "NOCO_VAR_DIR": str(var),
        "NOCO_OIDC_PROVIDERS": json.dumps(
            [
                {
                    "name": "keycloak",
                    "label": "Keycloak",
                    "issuer": idp.issuer,
                    "client_id": idp.client_id,
                    "client_secret": idp.client_secret,
                }
            ]
        ),
        "NOCO_JWT_ISSUERS": json.dumps(
            [
                {
                    "issuer": idp.issuer,
                    "audience": "noco-api",
                    "jwks_url": idp.url + "/jwks",
                    "algorithms": ["RS256"],
                }
            ]
        ),
        # The fake provider's origin plays the single-page app's.
        "NOCO_CORS_ORIGINS": idp.url,
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=LIVE_ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "nocoplatform.asgi:application"]
        + ["--port", str(port), "--no-proxy-headers"],
        cwd=LIVE_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield LiveServer(f"http://127.0.0.1:{port}", env)
    proc.terminate()
    proc.wait(10)


def test_sign_in_with_the_provider_button(page, server, idp):
    idp.login_claims = {
        "sub": "browser-1",
        "email": "grace@corp.example",
        "email_verified": True,
    }
    page.goto(server + "/account/tokens/")
    page.wait_for_url("**/login/**")
    button = page.locator("text=Sign in with Keycloak")
    assert button.is_visible()
    shot(page, "login-oidc")
    button.click()
    page.wait_for_url(idp.url + "/authorize?*")
    page.click("#approve")  # the provider's own page: the user agrees
    page.wait_for_url(server + "/account/tokens/")
    assert "grace@corp.example" in page.content()
    assert idp.hits["/token"] >= 1


def test_a_page_on_another_origin_calls_the_api_with_a_jwt(page, server, idp):
    token = idp.token(sub="spa-user", aud="noco-api")
    page.goto(idp.url + "/authorize")  # any page of the app's origin
    call = """async ([url, token]) => {
      const r = await fetch(url, {headers: {Authorization: 'Bearer ' + token}});
      return {status: r.status, body: await r.json()};
    }"""
    answer = page.evaluate(call, [server + "/api/v2/auth/me", token])
    assert answer["status"] == 200, answer
    assert answer["body"]["via"] == "jwt" and answer["body"]["subject"] == "spa-user"
    bases = page.evaluate(call, [server + "/api/v2/meta/bases/", token])
    assert bases["status"] == 200
    assert bases["body"]["list"] == []  # a member of nothing sees nothing
    # An origin not listed (same server, other host name) cannot read the answer.
    other = idp.url.replace("127.0.0.1", "localhost")
    page.goto(other + "/authorize")
    failed = page.evaluate(
        """async ([url, token]) => {
          try { await fetch(url, {headers: {Authorization: 'Bearer ' + token}});
                return 'read'; }
          catch (e) { return 'blocked'; }
        }""",
        [server + "/api/v2/auth/me", token],
    )
    assert failed == "blocked"


SPA_SETUP = """
from django.contrib.auth import get_user_model
from bases.demo import create_demo_base
from permissions.models import ExternalIdentity
from permissions.services import membership_create
User = get_user_model()
owner = User.objects.create_user(username="spa-owner@corp.example", email="spa-owner@corp.example")
reader = User.objects.create_user(username="reader@corp.example", email="reader@corp.example")
base = create_demo_base(owner, title="SPA demo")
membership_create(base=base, user=reader, role="viewer")
ExternalIdentity.objects.create(issuer="{issuer}", subject="spa-reader", user=reader)
print(base.pk)
"""


def test_the_worked_example_spa_signs_in_and_reads_by_graphql(page, server, idp):
    """docs/examples/graphql-spa/ as docs/integration.md runs it: served from another origin,
    it signs in at the provider (authorization code + PKCE, a public client), then lists
    projects through GraphQL with the provider's access token (CORS preflight included)."""
    from pathlib import Path

    base_id = server.manage(
        "shell", "-c", SPA_SETUP.format(issuer=idp.issuer)
    ).splitlines()[-1]
    idp.spa_dir = Path(LIVE_ROOT) / "docs" / "examples" / "graphql-spa"
    idp.spa_config = {
        "issuer": idp.issuer,
        "clientId": idp.public_client_id,
        "audience": "noco-api",
        "scope": "openid email",
        "nocoUrl": str(server),
        "baseId": base_id,
    }
    idp.login_claims = {"sub": "spa-reader", "email": "reader@corp.example"}
    page.goto(idp.url + "/spa/")
    page.click("#sign-in")
    page.wait_for_url(idp.url + "/authorize?*")
    page.click("#approve")
    page.wait_for_selector("#rows tbody tr")
    assert page.locator("#rows tbody tr").count() == 10
    assert page.locator("#who").inner_text() == "reader@corp.example"
    first = page.locator("#rows tbody tr").first.locator("td").all_inner_texts()
    assert first[0].startswith("Project ") and first[3]  # name, and the client's name
    page.click("#more")
    page.wait_for_function("document.querySelectorAll('#rows tbody tr').length === 20")
    assert "of" in page.locator("#status").inner_text()
    shot(page, "graphql-spa-example")
