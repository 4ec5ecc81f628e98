/** The last server-triggered event of a cache channel (`cache-`, `private-cache-`, …). */
export interface CachedEvent {
  event: string;
  /** As published (a Pusher HTTP API event carries a string). */
  data: unknown;
}

/** Last event per (app, cache channel), replayed to each new subscriber. Entries expire after `ttlSeconds`. */
export interface ChannelCache {
  set(app: string, channel: string, event: CachedEvent, ttlSeconds: number): Promise<void>;
  /** The event and its remaining lifetime, or undefined when none (or expired). */
  get(app: string, channel: string): Promise<{ event: CachedEvent; ttlSeconds: number } | undefined>;
}
