import { channelInfo, channelNameProblem, isApplicationChannel } from './channel-name.js';

describe('channelNameProblem (the one grammar of every protocol and REST)', () => {
  it.each(['news', 'team:1', 'a-b_c', 'private-x', 'presence-room', 'x=y@z,w.v;u', 'a:b:c', 'private-orders:1', '__proto__'])('accepts %s', (name) => {
    expect(channelNameProblem(name, 200)).toBeNull();
    expect(channelNameProblem(name, 200, { serverToUser: true })).toBeNull();
  });

  it.each([
    ['', /empty/],
    [':a', /colon/],
    ['a:', /colon/],
    ['a::b', /colon/],
    ['a b', /colon/],
    ['#watchlist-1', /colon/],
    ['#server-to-user-1', /colon/],
    ['x'.repeat(201), /longer than 200/],
  ])('refuses %j', (name, problem) => {
    expect(channelNameProblem(name, 200)).toMatch(problem);
  });

  it('accepts #server-to-user-<id> only where Pusher uses it, and never other # names', () => {
    expect(channelNameProblem('#server-to-user-1', 200, { serverToUser: true })).toBeNull();
    expect(channelNameProblem('#server-to-user-', 200, { serverToUser: true })).toMatch(/no user id/);
    expect(channelNameProblem('#watchlist-1', 200, { serverToUser: true })).toMatch(/may only contain/);
  });

  it('refuses non-strings', () => {
    expect(channelNameProblem(7, 200)).toBe('must be a string');
  });

  it('runs in linear time on a long name with a bad last character (a backtracking pattern would not finish)', () => {
    expect(channelNameProblem(`${'a:'.repeat(50_000)}a!`, 1_000_000)).not.toBeNull();
  });

  it('tells application channels from internal ones', () => {
    expect(isApplicationChannel('news')).toBe(true);
    expect(isApplicationChannel('#server-to-user-1')).toBe(false);
  });
});

describe('channelInfo', () => {
  it.each([
    ['news', 'public', false],
    ['cache-news', 'public', true],
    ['team:1', 'public', false],
    ['private-x', 'private', false],
    ['private-cache-x', 'private', true],
    ['private-encrypted-x', 'encrypted', false],
    ['private-encrypted-cache-x', 'encrypted', true],
    ['presence-room', 'presence', false],
    ['presence-cache-room', 'presence', true],
    ['#server-to-user-1', 'server-to-user', false],
    ['#watchlist-1', 'internal', false],
  ])('%s is %s (cache %s)', (name, kind, cache) => {
    expect(channelInfo(name)).toEqual({ kind, cache });
  });
});
