/**
 * The one parser for an HTTP request target (`request.url`) on every edge that reads one: the upgrade
 * listener, upgrade admission, every gateway's handshake and the metrics port. Node hands the raw
 * request-line target through unchecked, so it may be origin-form (`/ws/bus?app=k`), absolute-form
 * (`http://a:b/ws/bus`, RFC 9112 §3.2.2), `*`, or garbage (`http://[/ws/bus`, `/app/%ZZ`). `new URL()` and
 * `decodeURIComponent` throw on those; this never throws and returns null for what cannot be parsed,
 * which the caller answers with 400.
 */

/** A parsed request target: the path (still percent-encoded, as routes match it) and its query. */
export interface RequestTarget {
  /** The path as sent, e.g. `/app/key%201` (never empty; `/` at least). */
  readonly pathname: string;
  /** The query parameters (decoded by WHATWG URLSearchParams, which replaces bad escapes, never throws). */
  readonly searchParams: URLSearchParams;
}

/** Longest request target accepted; Node's HTTP parser already caps the header block at 16 KiB. */
const MAX_TARGET_LENGTH = 16 * 1024;
const BASE = 'http://localhost';

/** Parses `request.url`; null when it is not a usable request target. */
export function parseRequestTarget(raw: string | undefined): RequestTarget | null {
  if (raw === undefined || raw.length === 0 || raw.length > MAX_TARGET_LENGTH) return null;
  let url: URL;
  try {
    // Origin-form is resolved against a fixed base; absolute-form keeps its own authority, which Herald ignores
    // (routing is by path only; the Host header is not trusted for anything).
    url = raw.startsWith('/') ? new URL(raw, BASE) : new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 'ws:' && url.protocol !== 'wss:') return null;
  return { pathname: url.pathname || '/', searchParams: url.searchParams };
}

/** `decodeURIComponent` that answers null instead of throwing URIError on a malformed escape (`%ZZ`, lone surrogates). */
export function decodePathSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
