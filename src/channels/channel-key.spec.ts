import { channelKey, channelSubjectTokens, keyOf, memberKey, redisKeyParts, tenantToken } from './channel-key.js';

describe('channel keys', () => {
  it('tells ("a:b","c") from ("a","b:c") and every other split of the same characters', () => {
    expect(channelKey('a:b', 'c')).not.toBe(channelKey('a', 'b:c'));
    expect(memberKey('a:b', 'c', 'd')).not.toBe(memberKey('a', 'b:c', 'd'));
    expect(memberKey('a', 'b', 'c:d')).not.toBe(memberKey('a', 'b:c', 'd'));
    expect(memberKey('a\u0000b', 'c', 'd')).not.toBe(memberKey('a', 'b\u0000c', 'd'));
    expect(keyOf('member', 'a', 'b')).not.toBe(keyOf('member', 'ab'));
    // Digits in the parts cannot forge a length prefix either.
    expect(channelKey('1:a', 'b')).not.toBe(channelKey('1', 'a1:b'));
  });

  it('is injective over random tuples (no two different tuples share a key)', () => {
    const alphabet = ['a', ':', '0', '1', '\u0000', '~', '.'];
    const seen = new Map<string, string>();
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const word = () => Array.from({ length: next() % 4 }, () => alphabet[next() % alphabet.length]).join('');
    for (let i = 0; i < 20_000; i++) {
      const tuple = [word(), word(), word()];
      const key = memberKey(tuple[0], tuple[1], tuple[2]);
      const before = seen.get(key);
      if (before !== undefined) expect(before).toBe(JSON.stringify(tuple));
      seen.set(key, JSON.stringify(tuple));
    }
  });

  it('makes broker tokens without ":" or NATS-special characters, distinct per tenant', () => {
    for (const tenant of ['app-1', 'a:b', 'a.b', 'a b', '~x', 'a*>']) {
      expect(tenantToken(tenant)).toMatch(/^~?[A-Za-z0-9_-]+$/);
    }
    expect(tenantToken('~x')).not.toBe('~x');
    expect(new Set(['a:b', 'a.b', 'a_b', 'a-b'].map(tenantToken)).size).toBe(4);
    expect(redisKeyParts('a:b', 'c').join(':')).not.toBe(redisKeyParts('a', 'b:c').join(':'));
    const [tenant, channel] = channelSubjectTokens('a.b', 'team:1.x');
    expect(`${tenant}.${channel}`.split('.')).toHaveLength(2);
  });
});
