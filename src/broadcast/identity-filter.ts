import { PROTOCOLS, type ProtocolName } from '../connections/identity.js';
import type { IdentityFilter } from './envelope.js';

/** Ids per list field of a filter. */
export const MAX_FILTER_IDS = 10_000;

const LIST_FIELDS = ['userIds', 'sessionIds', 'tokenIds'] as const;
const FIELDS: ReadonlySet<string> = new Set([...LIST_FIELDS, 'protocols', 'scope']);
const SCOPES: ReadonlySet<string> = new Set(['subscribe', 'publish']);
const PROTOCOL_NAMES: ReadonlySet<string> = new Set(PROTOCOLS);

function stringList(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length > MAX_FILTER_IDS) return undefined;
  for (const item of value) if (typeof item !== 'string') return undefined;
  return value as string[];
}

/**
 * The one parser of an IdentityFilter from untyped input (broker bodies, any future REST field). Strict:
 * every field has its exact type (`userIds` a list of strings, never a string, whose `includes` would
 * match substrings), no unknown field (a misspelt `userId` must not widen the filter to the whole
 * tenant), lists of at most {@link MAX_FILTER_IDS}. Returns undefined when the value is not a filter.
 */
export function parseIdentityFilter(value: unknown): IdentityFilter | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const raw = value as Record<string, unknown>;
  for (const key of Object.keys(raw)) if (!FIELDS.has(key)) return undefined;
  const filter: IdentityFilter = {};
  for (const field of LIST_FIELDS) {
    if (raw[field] === undefined) continue;
    const list = stringList(raw[field]);
    if (!list) return undefined;
    filter[field] = [...list];
  }
  if (raw.protocols !== undefined) {
    const list = stringList(raw.protocols);
    if (!list || !list.every((name) => PROTOCOL_NAMES.has(name))) return undefined;
    filter.protocols = list as ProtocolName[];
  }
  if (raw.scope !== undefined) {
    if (typeof raw.scope !== 'string' || !SCOPES.has(raw.scope)) return undefined;
    filter.scope = raw.scope as IdentityFilter['scope'];
  }
  return filter;
}
