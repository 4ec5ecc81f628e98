import { channelAuthorized, channelNameProblem, isApplicationChannel } from './channel-name.js';

describe('channelNameProblem', () => {
  it.each(['news', 'team:1', 'a-b_c', 'private-x', 'presence-room', 'x=y@z,w.v;u', 'a:b:c'])('accepts %s', (name) => {
    expect(channelNameProblem(name, 200)).toBeNull();
  });

  it.each([
    ['', /empty/],
    [':a', /colon/],
    ['a:', /colon/],
    ['a::b', /colon/],
    ['a b', /colon/],
    ['#watchlist-1', /colon/],
    ['x'.repeat(201), /at most 200/],
  ])('refuses %j', (name, problem) => {
    expect(channelNameProblem(name, 200)).toMatch(problem);
  });

  it('refuses non-strings', () => {
    expect(channelNameProblem(7, 200)).toBe('must be a string');
  });

  it('runs in linear time on a long name with a bad last character', () => {
    const started = performance.now();
    expect(channelNameProblem(`${'a:'.repeat(5000)}a!`, 100_000)).not.toBeNull();
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('tells application channels from internal ones', () => {
    expect(isApplicationChannel('news')).toBe(true);
    expect(isApplicationChannel('#server-to-user-1')).toBe(false);
  });
});

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
});
