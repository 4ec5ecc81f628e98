/**
 * Per-(app, protocol) entries created on first use: the hot path does two Map lookups and adds to plain
 * numbers, never prom-client's per-call label hashing and validation (a prom-client child re-hashes its
 * labels on every `inc`). Keys are bounded: configured app ids × protocol names.
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

  /** Every cached entry (scrape time only). */
  *values(): IterableIterator<C> {
    for (const inner of this.byApp.values()) yield* inner.values();
  }
}
