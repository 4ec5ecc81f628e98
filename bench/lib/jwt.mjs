// Minimal HS256 JWT signer (the bench must not depend on the server's code).
import { createHmac } from 'node:crypto';

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Signs `claims` with HS256; `iat`/`exp` (1 h) are added unless given. */
export function signJwt(claims, secret) {
  const now = Math.floor(Date.now() / 1000);
  const body = b64url({ iat: now, exp: now + 3600, ...claims });
  const head = b64url({ alg: 'HS256', typ: 'JWT' });
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}
