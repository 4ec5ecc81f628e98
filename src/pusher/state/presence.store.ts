/** One member of a presence channel, as the presence protocol shows it. */
export interface PresenceMember {
  userId: string;
  /** `user_info` from the first connection of this user that joined; any JSON. */
  userInfo?: unknown;
}

/** Outcome of a join: refused when the channel is full (and this user is not in it yet). */
export type PresenceJoinResult = { accepted: false } | { accepted: true; firstJoin: boolean };

/**
 * Presence membership per (app, channel), counted per connection and deduplicated by user id:
 * `firstJoin` / `lastLeave` are true exactly once per user across the whole cluster, which is what
 * `member_added` / `member_removed` (frames and webhooks) hang on.
 *
 * Idempotent per `connectionId`: joining twice or leaving twice changes nothing.
 */
export interface PresenceStore {
  /**
   * Adds one connection of `member.userId`. `maxMembers` (-1 = unlimited) is checked atomically with
   * the insert: a new user is refused when the channel already has that many distinct users.
   */
  join(app: string, channel: string, connectionId: string, member: PresenceMember, maxMembers: number): Promise<PresenceJoinResult>;
  /** Removes one connection; `lastLeave` when it was the user's last connection in the channel. */
  leave(app: string, channel: string, connectionId: string, userId: string): Promise<{ lastLeave: boolean }>;
  /** Distinct members (user id → user_info), in join order. */
  members(app: string, channel: string): Promise<PresenceMember[]>;
  /** Distinct user count. */
  memberCount(app: string, channel: string): Promise<number>;
  isMember(app: string, channel: string, userId: string): Promise<boolean>;
}
