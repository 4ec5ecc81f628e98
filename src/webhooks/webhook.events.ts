/** Pusher webhook events, in the body shape Pusher sends (`{"time_ms", "events":[…]}`). */
export type WebhookEvent =
  | { name: 'channel_occupied'; channel: string }
  | { name: 'channel_vacated'; channel: string }
  | { name: 'member_added'; channel: string; user_id: string }
  | { name: 'member_removed'; channel: string; user_id: string }
  | { name: 'client_event'; channel: string; event: string; data: string; socket_id: string; user_id?: string }
  | { name: 'cache_miss'; channel: string }
  | { name: 'subscription_count'; channel: string; subscription_count: number };

export type WebhookEventName = WebhookEvent['name'];

/** Delivery tuning (defaults in `DEFAULT_WEBHOOK_OPTIONS`). */
export interface WebhookOptions {
  /** Events collected per webhook before a POST, at most. Default 50. */
  maxBatch: number;
  /** How long the first queued event waits for companions. Default 50 ms. */
  batchWindowMs: number;
  /** Per-attempt request timeout. Default 5 000 ms. */
  requestTimeoutMs: number;
  /** First retry delay; doubles each time, capped at `maxBackoffMs`. Default 1 000 ms. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** A batch still failing this long after its first attempt is dropped (logged and counted). Default 5 min. */
  retryForMs: number;
  /** Events waiting per webhook beyond which the oldest are dropped (a dead receiver must not grow memory). Default 10 000. */
  maxQueued: number;
  /** Delay of `channel_vacated` / `member_removed`, cancelled when the channel/member comes back. Default 3 000 ms (`HERALD_WEBHOOK_VACATE_DELAY_MS`). */
  vacateDelayMs: number;
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = {
  maxBatch: 50,
  batchWindowMs: 50,
  requestTimeoutMs: 5_000,
  initialBackoffMs: 1_000,
  maxBackoffMs: 60_000,
  retryForMs: 5 * 60_000,
  maxQueued: 10_000,
  vacateDelayMs: 3_000,
};

export const WEBHOOK_OPTIONS = Symbol('WebhookOptions');
