/**
 * Signed-in Pusher users per app (a user is online while signed in on at least one connection,
 * anywhere in the cluster). Drives watchlist `online` / `offline` events. Idempotent per connection.
 */
export interface OnlineUsers {
  /** Returns true when this made the user come online. */
  add(app: string, userId: string, connectionId: string): Promise<boolean>;
  /** Returns true when this made the user go offline. */
  remove(app: string, userId: string, connectionId: string): Promise<boolean>;
  /** Which of `userIds` are online now. */
  online(app: string, userIds: readonly string[]): Promise<Set<string>>;
}
