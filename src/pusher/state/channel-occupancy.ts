/**
 * Subscriptions per (app, channel) across the cluster and every protocol (the channel space is
 * shared). A channel is occupied while its count is above zero. Drives `channel_occupied` /
 * `channel_vacated` webhooks (on the 0→1 and 1→0 transitions), `subscription_count`, and the
 * `GET /apps/:id/channels` family. Internal `#…` channels are never recorded.
 */
export interface ChannelOccupancy {
  /**
   * One more subscription; `changed` when it made the channel occupied (true once cluster-wide). A
   * subscription that takes back a pending vacancy (the channel emptied less than the vacate delay
   * ago, on any node) is not a change: neither that `channel_vacated` nor a new `channel_occupied` goes out.
   */
  add(app: string, channel: string): Promise<OccupancyChange>;
  /** One fewer subscription; `changed` when it made the channel vacant (true once cluster-wide), leaving a pending vacancy. */
  remove(app: string, channel: string): Promise<OccupancyChange>;
  /** At the end of the vacate delay: true exactly once, when the vacancy is still pending and the channel still empty. */
  settleVacancy(app: string, channel: string): Promise<boolean>;
  count(app: string, channel: string): Promise<number>;
  /** Occupied channels with their subscription counts, optionally only those starting with `prefix`. */
  list(app: string, prefix?: string): Promise<Map<string, number>>;
}

/** A subscription count after a change, and whether this change was the occupied/vacated transition. */
export interface OccupancyChange {
  count: number;
  changed: boolean;
}
