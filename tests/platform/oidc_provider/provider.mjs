// A real OpenID Connect provider (the oidc-provider package) for tests/platform/test_oidc.py.
//
// node provider.mjs PORT CONFIG_JSON
//   CONFIG_JSON: {"clients": [...oidc-provider client metadata...],
//                 "accounts": {"<id>": {<claims>}}}
// Serves http://127.0.0.1:PORT as its issuer. Sign-in is one step: GET
// /interaction/<uid>/login?account=<id> (no password: the test plays the person).
// PKCE is required of every client. For the refusal tests, GET /_test/next-id-token?aud=…
// or ?exp_offset=<seconds> makes the next token response carry an ID token re-signed with
// the provider's own key but that audience, or issued and expiring that far in the past.
import http from "node:http";

import { exportJWK, generateKeyPair, SignJWT, decodeJwt, decodeProtectedHeader } from "jose";
import Provider from "oidc-provider";

const [port, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson);
const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = await generateKeyPair("RS256", { extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), kid: "test-key", alg: "RS256", use: "sig" };

const scopeClaims = {
  openid: ["sub"],
  email: ["email", "email_verified"],
  profile: ["name"],
  heldout: ["heldout_role", "groups"],
};

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys: [signingJwk] },
  claims: scopeClaims,
  scopes: Object.keys(scopeClaims),
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ["test-cookie-key-0123456789abcdef"] },
  async findAccount(ctx, id) {
    const claims = config.accounts[id];
    if (!claims) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
  // The test's clients are first-party: what they ask for is granted without a consent page.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(Object.keys(scopeClaims).join(" "));
    await grant.save();
    return grant;
  },
});

let mischief = null;

provider.use(async (ctx, next) => {
  if (ctx.path === "/_test/next-id-token") {
    mischief = {
      aud: ctx.query.aud || null,
      azp: ctx.query.azp || null,
      expOffset: ctx.query.exp_offset ? Number(ctx.query.exp_offset) : null,
    };
    ctx.body = { ok: true };
    return;
  }
  const login = ctx.path.match(/^\/interaction\/([^/]+)\/login$/);
  if (login) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (!config.accounts[ctx.query.account]) ctx.throw(400, "unknown account");
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res,
      { login: { accountId: String(ctx.query.account) } }, { mergeWithLastSubmission: false }));
    return details;
  }
  const page = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (page) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    ctx.type = "html";
    ctx.body = `<!doctype html><title>Sign in</title><p>${details.prompt.name}</p>` +
      `<form action="/interaction/${page[1]}/login"><input name="account"></form>`;
    return;
  }
  await next();
  if (ctx.path === "/token" && mischief && ctx.body && ctx.body.id_token) {
    const payload = decodeJwt(ctx.body.id_token);
    const header = decodeProtectedHeader(ctx.body.id_token);
    if (mischief.aud) payload.aud = mischief.aud;
    if (mischief.azp) payload.azp = mischief.azp;
    if (mischief.expOffset !== null) {
      const lifetime = payload.exp - payload.iat;
      payload.iat += mischief.expOffset;
      payload.exp = payload.iat + lifetime;
    }
    ctx.body = {
      ...ctx.body,
      id_token: await new SignJWT(payload).setProtectedHeader(header).sign(privateKey),
    };
    mischief = null;
  }
});

const server = http.createServer(provider.callback());
server.listen(Number(port), "127.0.0.1", () => {
  process.stdout.write(`listening ${issuer}\n`);
});
