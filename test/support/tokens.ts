import { createHmac } from 'node:crypto';

/** Signs a real HS256 JWT (no library, so the server's verification is tested against an independent signer). */
export function signJwt(claims: Record<string, unknown>, secret = 'app-secret', header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${encode(header)}.${encode(claims)}`;
  const signature = createHmac('sha256', secret).update(body).digest('base64url');
  return `${body}.${signature}`;
}

export interface UserTokenOptions {
  sub?: string;
  aud?: string | string[];
  secret?: string;
  expiresIn?: number;
  sid?: string;
  jti?: string;
  scope?: string[];
  authorizedChannels?: string[];
  iat?: number;
  extra?: Record<string, unknown>;
}

/** A valid token for the dev app unless options say otherwise. */
export function userToken(options: UserTokenOptions = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    sub: options.sub ?? 'alice',
    aud: options.aud ?? 'broadcaster',
    iat: options.iat ?? now,
    exp: now + (options.expiresIn ?? 3600),
    ...options.extra,
  };
  if (options.sid) claims.sid = options.sid;
  if (options.jti) claims.jti = options.jti;
  if (options.scope) claims.scope = options.scope;
  if (options.authorizedChannels) claims.authorizedChannels = options.authorizedChannels;
  return signJwt(claims, options.secret ?? 'app-secret');
}
