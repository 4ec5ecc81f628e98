import type { Envelope, IdentityFilter, Target } from '../broadcast/envelope.js';
import { parseIdentityFilter } from '../broadcast/identity-filter.js';
import { isRecord, parsePeerJson } from '../common/json.js';

/**
 * The cluster wire format of an envelope: its JSON. A `predicate` target never gets here
 * (BroadcastService refuses it on a non-local transport); `filter` targets travel as data.
 * `seq` is node-local (assigned on ingest), so it is never sent.
 */
export function serializeEnvelope(envelope: Envelope): string {
  if (envelope.target.kind === 'predicate') throw new Error('a predicate target cannot cross nodes');
  const { seq: _seq, ...wire } = envelope;
  return JSON.stringify(wire);
}

const TARGET_KINDS = new Set(['tenant', 'users', 'session', 'token', 'connections', 'channel', 'filter']);
const ORIGINS = new Set(['rest', 'pusher-api', 'client', 'internal']);

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function parseTarget(raw: unknown): Target | undefined {
  if (!isRecord(raw) || typeof raw.kind !== 'string' || !TARGET_KINDS.has(raw.kind)) return undefined;
  switch (raw.kind) {
    case 'tenant':
      return { kind: 'tenant' };
    case 'users':
      return isStringArray(raw.userIds) ? { kind: 'users', userIds: raw.userIds } : undefined;
    case 'session':
      return typeof raw.sessionId === 'string' ? { kind: 'session', sessionId: raw.sessionId } : undefined;
    case 'token':
      return typeof raw.tokenId === 'string' ? { kind: 'token', tokenId: raw.tokenId } : undefined;
    case 'connections':
      return isStringArray(raw.connectionIds) ? { kind: 'connections', connectionIds: raw.connectionIds } : undefined;
    case 'channel':
      return typeof raw.channel === 'string' ? { kind: 'channel', channel: raw.channel } : undefined;
    case 'filter': {
      // Parsed, not cast: a string `userIds` would match substrings through `includes`.
      const filter = parseIdentityFilter(raw.filter);
      return filter ? { kind: 'filter', filter } : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Narrows a payload from Redis/NATS to an envelope, or undefined when it is not one (another
 * cluster's traffic on a shared broker, a corrupted message). The fields the core reads are checked;
 * `data` stays opaque, as everywhere in the core.
 */
export function parseEnvelope(text: string): Envelope | undefined {
  // Depth-bounded: `data` is stringified again for every protocol, so a peer's nesting is bounded too.
  const raw = parsePeerJson(text);
  if (!isRecord(raw)) return undefined;
  const { id, tenant, event, createTime, publishedAt, origin } = raw;
  if (typeof id !== 'string' || typeof tenant !== 'string' || typeof event !== 'string') return undefined;
  if (typeof createTime !== 'string' || typeof publishedAt !== 'number' || typeof origin !== 'string' || !ORIGINS.has(origin)) return undefined;
  const target = parseTarget(raw.target);
  if (!target) return undefined;
  const envelope: Envelope = { id, tenant, target, event, data: raw.data, createTime, publishedAt, origin: origin as Envelope['origin'] };
  const position = raw.position;
  if (isRecord(position) && typeof position.offset === 'number' && typeof position.epoch === 'string') {
    envelope.position = { offset: position.offset, epoch: position.epoch };
  }
  if (typeof raw.excludeConnectionId === 'string') envelope.excludeConnectionId = raw.excludeConnectionId;
  if (typeof raw.senderUserId === 'string') envelope.senderUserId = raw.senderUserId;
  return envelope;
}

/** A tenant id as one broker name token: built by the one key builder (`channels/channel-key.ts`). */
export { tenantToken } from '../channels/channel-key.js';
