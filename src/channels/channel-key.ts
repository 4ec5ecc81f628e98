/**
 * The one key builder for (tenant, channel[, user]). App ids are free strings and channel names
 * contain `:`, so joining them with a separator is ambiguous (`("a:b","c")` and `("a","b:c")` would
 * share `a:b:c`). Every part here is length-prefixed (`<length>:<part>`), which no pair of different
 * tuples can share; user ids may contain any character, `\u0000` included.
 *
 * - {@link channelKey} / {@link memberKey}: in-process map keys (presence, caches, throttles, webhook
 *   vacate timers, history rings).
 * - {@link redisKeyParts}: the variable parts of a `:`-joined Redis key, where only the last part may
 *   be free (the tenant is a {@link tenantToken}, which has no `:`).
 * - {@link channelSubjectTokens}: NATS subject tokens, valid by NATS' rules (no `.`, `*`, `>`, spaces).
 */

/** Length-prefixed concatenation of any parts (a kind word first keeps key families apart). */
export function keyOf(...parts: readonly string[]): string {
  let key = '';
  for (const part of parts) key += `${part.length}:${part}`;
  return key;
}

/** In-process key of one channel of one tenant. */
export function channelKey(tenant: string, channel: string): string {
  return keyOf(tenant, channel);
}

/** In-process key of one user on one channel of one tenant (presence members, member_removed timers). */
export function memberKey(tenant: string, channel: string, user: string): string {
  return keyOf(tenant, channel, user);
}

/**
 * A tenant id as one broker name token: kept as is when it is `[A-Za-z0-9_-]+`, otherwise `~` plus its
 * base64url (`~` is outside that set, so the two forms never meet). Valid as a NATS subject token and
 * free of `:` for Redis keys.
 */
export function tenantToken(tenant: string): string {
  return /^[A-Za-z0-9_-]+$/.test(tenant) ? tenant : `~${Buffer.from(tenant).toString('base64url')}`;
}

/**
 * The parts of a Redis key for (tenant[, last]): the tenant token, then one free part (a channel or
 * a user id), which must come last in the key (callers put fixed words before, never after).
 */
export function redisKeyParts(tenant: string, last?: string): string[] {
  return last === undefined ? [tenantToken(tenant)] : [tenantToken(tenant), last];
}

/** NATS subject tokens for (tenant, channel): the tenant token and the channel in base64url (no `.`). */
export function channelSubjectTokens(tenant: string, channel: string): [string, string] {
  return [tenantToken(tenant), Buffer.from(channel).toString('base64url')];
}
