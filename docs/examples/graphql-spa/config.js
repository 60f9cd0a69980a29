// Edit for your provider and installation (docs/integration.md, "Worked example").
window.APP_CONFIG = {
  // The OpenID Connect provider: its issuer (discovery at <issuer>/.well-known/openid-configuration)
  // and this app's client id — a *public* client (no secret) allowing this page's URL as a redirect.
  issuer: "https://example.eu.auth0.com/",
  clientId: "YOUR_SPA_CLIENT_ID",
  // The audience the platform expects in access tokens (NOCO_JWT_ISSUERS[].audience). Auth0 needs
  // it in the authorization request to issue a JWT access token; Keycloak ignores it.
  audience: "https://noco.example.com",
  scope: "openid email profile",
  // The platform and the base to read.
  nocoUrl: "https://noco.example.com",
  baseId: "YOUR_BASE_ID",
};
