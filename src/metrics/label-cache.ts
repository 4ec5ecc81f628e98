/**
 * Caches prom-client children by (app, protocol) so the hot path does two Map lookups instead of
 * prom-client's per-call label hashing (it sorts and joins label values into a string on every `labels()`).
 * Keys are bounded: configured app ids × protocol names.
 */
export class LabelCache<C> {
  private readonly byApp = new Map<string, Map<string, C>>();

  constructor(private readonly create: (app: string, second: string) => C) {}

  get(app: string, second: string): C {
    let inner = this.byApp.get(app);
    if (!inner) this.byApp.set(app, (inner = new Map()));
    let child = inner.get(second);
    if (!child) inner.set(second, (child = this.create(app, second)));
    return child;
  }
}
