import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Hex HMAC-SHA256, as every Pusher signature is. */
export function hmacHex(secret: string, data: string | Buffer): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}

export function md5Hex(data: string | Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** Constant-time comparison of two hex strings (false for different lengths, without early exit on content). */
export function safeEqualHex(expected: string, presented: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(presented, 'utf8');
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** `socket_id:channel` or `socket_id:channel:channel_data` (channel_data verbatim as the client sent it). */
export function channelStringToSign(socketId: string, channel: string, channelData?: string): string {
  return channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
}

/** `socket_id::user::user_data`. */
export function userStringToSign(socketId: string, userData: string): string {
  return `${socketId}::user::${userData}`;
}

/**
 * Verifies a client `auth` string `"<app_key>:<hex signature>"` against `stringToSign`.
 * The key must be the app's; the signature is compared in constant time.
 */
export function verifyClientAuth(auth: unknown, appKey: string, secret: string, stringToSign: string): boolean {
  if (typeof auth !== 'string') return false;
  const colon = auth.indexOf(':');
  if (colon < 0 || auth.slice(0, colon) !== appKey) return false;
  return safeEqualHex(hmacHex(secret, stringToSign), auth.slice(colon + 1));
}

/**
 * The HTTP API string to sign: `METHOD\nPATH\nQUERY`, where QUERY is every parameter but
 * `auth_signature`, keys lower-cased, sorted by key, joined as `k=v` with `&`, not URL-escaped.
 */
export function apiStringToSign(method: string, path: string, params: ReadonlyMap<string, string>): string {
  const pairs = [...params]
    .filter(([key]) => key !== 'auth_signature')
    .map(([key, value]) => [key.toLowerCase(), value] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`);
  return `${method.toUpperCase()}\n${path}\n${pairs.join('&')}`;
}
