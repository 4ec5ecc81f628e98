import { channelAccess, channelAuthorized, isRestricted, patternNames, pusherSubscriptionRule } from './channel-policy.js';
import { channelInfo } from './channel-name.js';

describe('channelAuthorized', () => {
  it('matches exact names and trailing-* prefixes only', () => {
    expect(channelAuthorized(['news', 'team:*'], 'news')).toBe(true);
    expect(channelAuthorized(['news', 'team:*'], 'team:1')).toBe(true);
    expect(channelAuthorized(['news', 'team:*'], 'team')).toBe(false);
    expect(channelAuthorized(['news', 'team:*'], 'newsroom')).toBe(false);
    expect(channelAuthorized(['*'], 'anything')).toBe(true);
    expect(channelAuthorized(['te*m'], 'team')).toBe(false);
  });

  it('allows nothing when the claim is absent or empty', () => {
    expect(channelAuthorized(undefined, 'news')).toBe(false);
    expect(channelAuthorized([], 'news')).toBe(false);
  });

  it('never lets a bare * (or a prefix short of the kind) grant private-, private-encrypted-, presence- or # names', () => {
    for (const name of ['private-orders', 'private-encrypted-x', 'presence-room', '#watchlist-1', '#server-to-user-1']) {
      expect(isRestricted(name)).toBe(true);
      expect(channelAuthorized(['*'], name)).toBe(false);
      expect(channelAuthorized(['p*', 'pr*', 'presence*', 'private*'], name)).toBe(false);
      expect(channelAuthorized([name], name)).toBe(true);
    }
    expect(channelAuthorized(['private-orders-*'], 'private-orders-1')).toBe(true);
    expect(channelAuthorized(['private-orders-*'], 'private-other')).toBe(false);
    expect(channelAuthorized(['private-*'], 'private-orders')).toBe(true);
    expect(channelAuthorized(['private-*'], 'private-encrypted-x')).toBe(false);
    expect(channelAuthorized(['private-encrypted-*'], 'private-encrypted-x')).toBe(true);
    expect(channelAuthorized(['presence-*'], 'presence-room')).toBe(true);
    expect(channelAuthorized(['presence-*'], 'private-x')).toBe(false);
  });

  it('names a restricted channel only by a pattern whose literal part carries the kind prefix', () => {
    expect(patternNames('private-', 'private-')).toBe(true);
    expect(patternNames('private*', 'private-x')).toBe(false);
    expect(patternNames('#*', '#watchlist-1')).toBe(true);
    expect(patternNames('#server-to-user-*', '#server-to-user-1')).toBe(true);
    expect(patternNames('#*', '#server-to-user-1')).toBe(false);
  });
});

describe('channelAccess: the matrix (protocol x channel kind x grant)', () => {
  const PUBLIC = 'news';
  const PRIVATE = 'private-orders';
  const PRESENCE = 'presence-room';
  type Row = [protocol: 'rpc' | 'jsonrpc' | 'topics', action: 'subscribe' | 'publish', patterns: string[] | undefined, channel: string, callback: boolean, verdict: string];
  const rows: Row[] = [
    // topics: public names, as RoadRunner (no claim = every public topic; the claim restricts).
    ['topics', 'subscribe', undefined, PUBLIC, false, 'allow'],
    ['topics', 'subscribe', ['other'], PUBLIC, false, 'deny'],
    ['topics', 'subscribe', ['*'], PUBLIC, false, 'allow'],
    // topics: restricted names need a grant that names them, or the callback.
    ['topics', 'subscribe', undefined, PRIVATE, false, 'deny'],
    ['topics', 'subscribe', undefined, PRESENCE, false, 'deny'],
    ['topics', 'subscribe', ['*'], PRIVATE, false, 'deny'],
    ['topics', 'subscribe', [PRIVATE], PRIVATE, false, 'allow'],
    ['topics', 'subscribe', ['presence-*'], PRESENCE, false, 'allow'],
    ['topics', 'subscribe', undefined, PRIVATE, true, 'ask'],
    ['topics', 'subscribe', ['*'], PRESENCE, true, 'ask'],
    ['topics', 'subscribe', ['news'], PRIVATE, true, 'deny'],
    // rpc / jsonrpc: the claim is required for every channel.
    ['rpc', 'subscribe', undefined, PUBLIC, false, 'deny'],
    ['rpc', 'subscribe', undefined, PUBLIC, true, 'deny'],
    ['rpc', 'subscribe', ['*'], PUBLIC, false, 'allow'],
    ['rpc', 'subscribe', ['*'], PRIVATE, false, 'deny'],
    ['jsonrpc', 'subscribe', ['*'], PRESENCE, false, 'deny'],
    ['rpc', 'subscribe', ['private-*'], PRIVATE, false, 'allow'],
    ['rpc', 'subscribe', ['*'], PRIVATE, true, 'ask'],
    ['rpc', 'subscribe', undefined, PRESENCE, true, 'ask'],
    // publishing: a grant that names the channel; the callback never grants a write.
    ['rpc', 'publish', ['*'], PUBLIC, false, 'allow'],
    ['rpc', 'publish', ['*'], PRIVATE, false, 'deny'],
    ['rpc', 'publish', ['*'], PRIVATE, true, 'deny'],
    ['jsonrpc', 'publish', ['*'], PRESENCE, false, 'deny'],
    ['rpc', 'publish', ['private-orders'], PRIVATE, false, 'allow'],
    ['rpc', 'publish', undefined, PUBLIC, false, 'deny'],
  ];
  it.each(rows)('%s %s with %j on %s (callback %s) → %s', (protocol, action, patterns, channel, callback, verdict) => {
    expect(channelAccess(protocol, action, patterns, channel, callback)).toBe(verdict);
  });
});

describe('pusherSubscriptionRule', () => {
  it.each([
    ['news', 'open'],
    ['private-x', 'signature'],
    ['private-encrypted-x', 'signature'],
    ['presence-x', 'signature'],
    ['#server-to-user-1', 'own-user'],
    ['#watchlist-1', 'refused'],
  ])('%s → %s', (name, rule) => {
    expect(pusherSubscriptionRule(channelInfo(name))).toBe(rule);
  });
});
