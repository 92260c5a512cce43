// Bearer tokens for write-api (docs/auth.md), minted by each VU with k6's WebCrypto from a key
// pair such as the one the local stack generates (scripts/catalog-token.py keys): ES256, a
// subject per VU (k6-vu-<n>, so a per-subject rate limit sees many clients), renewed a minute
// before it expires. Without AUTH_KEY_FILE no token is sent (an API with auth.required=false).
//
//   AUTH_KEY_FILE   absolute path of the private key, PKCS#8 PEM
//   AUTH_ISSUER     the `iss` write-api expects (default catalog-local)
//   AUTH_AUDIENCE   the `aud` (default catalog)
//   AUTH_SCOPE      granted scope (default catalog:write)
//   AUTH_TTL        seconds a token lives (default 300)
import encoding from 'k6/encoding';
import { fail } from 'k6';

// open() reads files in the init context only.
const KEY_PEM = __ENV.AUTH_KEY_FILE ? open(__ENV.AUTH_KEY_FILE) : null;
const ISSUER = __ENV.AUTH_ISSUER || 'catalog-local';
const AUDIENCE = __ENV.AUTH_AUDIENCE || 'catalog';
const SCOPE = __ENV.AUTH_SCOPE || 'catalog:write';
const TTL = Number(__ENV.AUTH_TTL || 300);

let signingKey = null;
let token = null;
let expiresAt = 0;

// k6 has no TextEncoder; JWS signing input is ASCII.
function ascii(text) {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function base64url(value) {
  return encoding.b64encode(value, 'rawurl');
}

async function importKey() {
  const base64 = KEY_PEM.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  try {
    return await crypto.subtle.importKey('pkcs8', encoding.b64decode(base64), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  } catch (error) {
    return fail(`AUTH_KEY_FILE ${__ENV.AUTH_KEY_FILE}: not a PKCS#8 EC P-256 private key (${error})`);
  }
}

// refreshToken(): call (await) at the start of every function that writes, setup() included.
export async function refreshToken() {
  const now = Math.floor(Date.now() / 1000);
  if (!KEY_PEM || now < expiresAt - 60) return;
  if (!signingKey) signingKey = await importKey();
  const subject = __VU === 0 ? 'k6-setup' : `k6-vu-${__VU}`;
  const header = base64url(JSON.stringify({ alg: 'ES256', typ: 'JWT' }));
  const claims = base64url(JSON.stringify({
    iss: ISSUER, aud: AUDIENCE, sub: subject, scope: SCOPE, iat: now, nbf: now, exp: now + TTL,
  }));
  const signed = `${header}.${claims}`;
  // WebCrypto's ECDSA signature is r || s, the form JWS uses.
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, signingKey, ascii(signed));
  token = `${signed}.${base64url(signature)}`;
  expiresAt = now + TTL;
}

// authHeaders(): the Authorization header of the current token, or none.
export function authHeaders() {
  return token ? { Authorization: `Bearer ${token}` } : {};
}
