import { MAX_FILTER_IDS, parseIdentityFilter } from './identity-filter.js';

describe('parseIdentityFilter', () => {
  it('accepts well-typed filters and copies only known fields', () => {
    expect(parseIdentityFilter({})).toEqual({});
    expect(parseIdentityFilter({ userIds: ['u1'], sessionIds: [], tokenIds: ['t'], protocols: ['bus', 'pusher'], scope: 'publish' })).toEqual({
      userIds: ['u1'],
      sessionIds: [],
      tokenIds: ['t'],
      protocols: ['bus', 'pusher'],
      scope: 'publish',
    });
  });

  it.each([
    ['a string userIds (would match substrings)', { userIds: 'u1x' }],
    ['a string sessionIds', { sessionIds: 's1' }],
    ['a non-string id', { tokenIds: [1] }],
    ['an unknown protocol', { protocols: ['smtp'] }],
    ['a string protocols', { protocols: 'bus' }],
    ['an unknown scope', { scope: 'admin' }],
    ['a misspelt field (would widen to the tenant)', { userId: ['u1'] }],
    ['too many ids', { userIds: Array.from({ length: MAX_FILTER_IDS + 1 }, (_, i) => `u${i}`) }],
    ['an array', [['u1']]],
    ['null', null],
    ['a string', 'u1'],
  ])('refuses %s', (_name, value) => {
    expect(parseIdentityFilter(value)).toBeUndefined();
  });
});
