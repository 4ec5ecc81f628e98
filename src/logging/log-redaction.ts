/** Query parameters that carry credentials (JWTs on WebSocket URLs, API keys, request signatures). */
const SECRET_PARAMS = /^(token|access_token|jwt|api_key|apikey|key_secret|auth_signature|signature|secret|password)$/i;

/** `/ws/bus?token=eyJ…&app=k` → `/ws/bus?token=[redacted]&app=k`; leaves URLs without secrets untouched. */
export function redactUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const query = url.indexOf('?');
  if (query < 0) return url;
  const params = url
    .slice(query + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = decodeURIComponentSafe(eq < 0 ? pair : pair.slice(0, eq));
      return SECRET_PARAMS.test(name) ? `${pair.slice(0, eq < 0 ? pair.length : eq)}=[redacted]` : pair;
    });
  return `${url.slice(0, query)}?${params.join('&')}`;
}

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * pino `redact` paths: belt and braces on top of the request serializer (which logs no headers at all),
 * for anything that logs a raw request or headers object.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["sec-websocket-protocol"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  'authorization',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'apiKey',
  '*.apiKey',
];
