/**
 * Matches an `Origin` header against an app's `allowedOrigins`: exact (case-insensitive) or with `*`
 * wildcards (`https://*.example.com`, `*`). An empty list allows any origin. A request without `Origin`
 * is not from a browser page (browsers always send it on WebSocket upgrades), so it is allowed: the
 * check defends against cross-site WebSocket hijacking, authentication does the rest.
 */
export class OriginPolicy {
  private readonly patterns: RegExp[];

  constructor(allowedOrigins: readonly string[]) {
    this.patterns = allowedOrigins.map(
      (origin) => new RegExp(`^${origin.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i'),
    );
  }

  allows(origin: string | undefined): boolean {
    if (this.patterns.length === 0 || origin === undefined) return true;
    return this.patterns.some((pattern) => pattern.test(origin));
  }
}
