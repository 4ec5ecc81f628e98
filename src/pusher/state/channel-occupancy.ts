/**
 * Subscriptions per (app, channel) across the cluster and every protocol (the channel space is
 * shared). A channel is occupied while its count is above zero. Drives `channel_occupied` /
 * `channel_vacated` webhooks (on the 0→1 and 1→0 transitions), `subscription_count`, and the
 * `GET /apps/:id/channels` family. Internal `#…` channels are never recorded.
 */
export interface ChannelOccupancy {
  /** One more subscription; returns the cluster-wide count after it (1 = the channel became occupied). */
  add(app: string, channel: string): Promise<number>;
  /** One fewer subscription; returns the count after it (0 = the channel became vacant). */
  remove(app: string, channel: string): Promise<number>;
  count(app: string, channel: string): Promise<number>;
  /** Occupied channels with their subscription counts, optionally only those starting with `prefix`. */
  list(app: string, prefix?: string): Promise<Map<string, number>>;
}
