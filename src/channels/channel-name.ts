/**
 * Channel names shared by `/ws/rpc`, `/ws/jsonrpc`, `/ws/topics` and `POST /api/publish`: Pusher's
 * characters (`A-Z a-z 0-9 _ - = @ , . ;`) plus The Broadcaster's `:` separator (`team:1`), never at
 * either end nor doubled. `#…` names are Herald-internal (Pusher watchlists, server-to-user) and are
 * refused here.
 *
 * Why not The Broadcaster's own `^([\w-]+:?)*\w$`: its nested quantifiers backtrack exponentially on
 * a long name with a bad last character. This pattern is unambiguous (`:` is outside the class), so
 * it runs in linear time.
 */
const NAME = /^[A-Za-z0-9_\-=@,.;]+(?::[A-Za-z0-9_\-=@,.;]+)*$/;

/** Why a channel name is invalid, or null when it is fine. */
export function channelNameProblem(name: unknown, maxLength: number): string | null {
  if (typeof name !== 'string') return 'must be a string';
  if (name.length === 0) return 'must not be empty';
  if (name.length > maxLength) return `must be at most ${maxLength} characters`;
  if (!NAME.test(name)) return 'may only contain A-Z a-z 0-9 _ - = @ , . ; and single inner colons';
  return null;
}

/** Whether a name is an application channel (history, REST counts) rather than a Herald-internal one. */
export function isApplicationChannel(name: string): boolean {
  return NAME.test(name);
}

/**
 * The token's `authorizedChannels` patterns: exact names, or a trailing `*` as a prefix wildcard
 * (`team:*` allows `team:1`; a lone `*` allows every channel). Undefined (claim absent) allows none.
 */
export function channelAuthorized(patterns: readonly string[] | undefined, channel: string): boolean {
  if (!patterns) return false;
  for (const pattern of patterns) {
    if (pattern.endsWith('*')) {
      if (channel.startsWith(pattern.slice(0, -1))) return true;
    } else if (pattern === channel) {
      return true;
    }
  }
  return false;
}
