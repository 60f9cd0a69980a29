// Sign in with the provider (authorization code + PKCE), then read projects by GraphQL.
// No library: discovery, PKCE and the token request are a few fetch calls. The access token
// stays in sessionStorage (this tab only); a real app would rather keep it in memory.
(function () {
  const cfg = window.APP_CONFIG;
  const $ = (id) => document.getElementById(id);
  const store = window.sessionStorage;
  const redirectUri = window.location.origin + window.location.pathname;

  const b64url = (bytes) =>
    btoa(String.fromCharCode(...new Uint8Array(bytes)))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const random = () => b64url(crypto.getRandomValues(new Uint8Array(32)));

  async function discovery() {
    const url = cfg.issuer.replace(/\/$/, "") + "/.well-known/openid-configuration";
    const r = await fetch(url);
    if (!r.ok) throw new Error("discovery failed: " + r.status);
    return r.json();
  }

  async function signIn() {
    const oidc = await discovery();
    const verifier = random();
    const challenge = b64url(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))
    );
    const state = random();
    store.setItem("pkce", JSON.stringify({ verifier, state }));
    const params = new URLSearchParams({
      response_type: "code",
      client_id: cfg.clientId,
      redirect_uri: redirectUri,
      scope: cfg.scope,
      code_challenge: challenge,
      code_challenge_method: "S256",
      state,
      nonce: random(),
    });
    if (cfg.audience) params.set("audience", cfg.audience);
    window.location.assign(oidc.authorization_endpoint + "?" + params);
  }

  async function finishSignIn(code, state) {
    const saved = JSON.parse(store.getItem("pkce") || "{}");
    store.removeItem("pkce");
    window.history.replaceState(null, "", redirectUri); // the code is single-use: drop it
    if (!saved.state || saved.state !== state) throw new Error("sign-in state mismatch");
    const oidc = await discovery();
    const r = await fetch(oidc.token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        redirect_uri: redirectUri,
        client_id: cfg.clientId,
        code_verifier: saved.verifier,
      }),
    });
    const tokens = await r.json();
    if (!r.ok) throw new Error(tokens.error_description || tokens.error || r.status);
    store.setItem("access_token", tokens.access_token);
  }

  const QUERY = `query Projects($cursor: String) {
    projects(where: "(status,neq,done)", sort: "-budget", limit: 10, cursor: $cursor) {
      list { _id name status budget clients { _display } tasks(limit: 100) { done } }
      pageInfo { totalRows next }
    }
  }`;

  async function graphql(query, variables) {
    const r = await fetch(`${cfg.nocoUrl}/api/v2/bases/${cfg.baseId}/graphql`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: "Bearer " + store.getItem("access_token"),
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = await r.json();
    if (r.status === 401) {
      store.removeItem("access_token"); // expired or refused: sign in again
      throw new Error("please sign in again: " + (body.message || body.detail || ""));
    }
    if (body.errors) throw new Error(body.errors.map((e) => e.message).join("; "));
    return body.data;
  }

  let cursor = null;
  async function showPage() {
    $("status").textContent = "Loading…";
    const page = (await graphql(QUERY, { cursor })).projects;
    const tbody = $("rows").querySelector("tbody");
    for (const p of page.list) {
      const tr = document.createElement("tr");
      const open = p.tasks.filter((t) => !t.done).length;
      for (const text of [p.name, p.status, p.budget, p.clients && p.clients._display, open]) {
        const td = document.createElement("td");
        td.textContent = text == null ? "" : String(text); // never innerHTML: user text
        tr.appendChild(td);
      }
      tbody.appendChild(tr);
    }
    $("rows").hidden = false;
    cursor = page.pageInfo.next || null;
    $("more").hidden = !cursor;
    $("status").textContent = `${tbody.rows.length} of ${page.pageInfo.totalRows} projects`;
  }

  async function main() {
    $("sign-in").addEventListener("click", () => signIn().catch(fail));
    $("sign-out").addEventListener("click", () => {
      store.removeItem("access_token");
      window.location.reload();
    });
    $("more").addEventListener("click", () => showPage().catch(fail));
    const q = new URLSearchParams(window.location.search);
    if (q.get("code")) await finishSignIn(q.get("code"), q.get("state"));
    if (!store.getItem("access_token")) {
      $("sign-in").hidden = false;
      $("status").textContent = "Sign in to read the projects.";
      return;
    }
    $("sign-out").hidden = false;
    const me = await fetch(`${cfg.nocoUrl}/api/v2/auth/me`, {
      headers: { Authorization: "Bearer " + store.getItem("access_token") },
    });
    if (me.ok) $("who").textContent = (await me.json()).email || "";
    await showPage();
  }

  function fail(err) {
    $("status").textContent = String(err.message || err);
    if (!store.getItem("access_token")) $("sign-in").hidden = false;
  }

  main().catch(fail);
})();
