import type { PeerReply } from './nats-peers.service.js';
import { NatsMembershipBook, parseGroupAnswers } from './nats-membership-book.js';

/** What node `book` would answer, as a peer sees it. */
const asPeer = (node: string, book: NatsMembershipBook, group: string) => parseGroupAnswers([{ node, body: book.answer(group) } satisfies PeerReply]);

describe('NatsMembershipBook', () => {
  it('counts a user once per node and is idempotent per connection', () => {
    const book = new NatsMembershipBook('a');
    expect(book.join('g', 'ann', 'c1', { name: 'Ann' })?.firstHere).toBe(true);
    expect(book.join('g', 'ann', 'c1', undefined)).toBeUndefined();
    expect(book.join('g', 'ann', 'c2', undefined)?.firstHere).toBe(false);
    expect(book.leave('g', 'ann', 'c1')).toBeUndefined();
    expect(book.leave('g', 'ann', 'c1')).toBeUndefined();
    expect(typeof book.leave('g', 'ann', 'c2')).toBe('number');
    expect(book.has('g', 'ann')).toBe(false);
  });

  it('gives the first join to exactly one of two nodes that joined concurrently, whatever order they ask in', () => {
    const a = new NatsMembershipBook('a');
    const b = new NatsMembershipBook('b');
    const onA = a.join('g', 'ann', 'c1', undefined)!;
    const onB = b.join('g', 'ann', 'c2', undefined)!;
    const firsts = [a.firstAnywhere('ann', onA.since, asPeer('b', b, 'g')), b.firstAnywhere('ann', onB.since, asPeer('a', a, 'g'))];
    expect(firsts.filter(Boolean)).toHaveLength(1);
  });

  it('breaks a tie of equal times by node id, the same way on both nodes', () => {
    const a = new NatsMembershipBook('a');
    const peerB = parseGroupAnswers([{ node: 'b', body: { members: [{ userId: 'ann', since: 100 }], left: {} } }]);
    const peerA = parseGroupAnswers([{ node: 'a', body: { members: [{ userId: 'ann', since: 100 }], left: {} } }]);
    expect(a.firstAnywhere('ann', 100, peerB)).toBe(true);
    expect(new NatsMembershipBook('b').firstAnywhere('ann', 100, peerA)).toBe(false);
  });

  it('is not the last leave while another node still has the user', () => {
    const a = new NatsMembershipBook('a');
    const b = new NatsMembershipBook('b');
    a.join('g', 'ann', 'c1', undefined);
    b.join('g', 'ann', 'c2', undefined);
    const leftAt = a.leave('g', 'ann', 'c1')!;
    expect(a.lastAnywhere('ann', leftAt, asPeer('b', b, 'g'))).toBe(false);
  });

  it('gives the last leave to exactly one of two nodes that left concurrently (the later departure)', () => {
    const peer = (node: string, leftAt: number) => parseGroupAnswers([{ node, body: { members: [], left: { ann: leftAt } } }]);
    const a = new NatsMembershipBook('a');
    const b = new NatsMembershipBook('b');
    const results = [a.lastAnywhere('ann', 100, peer('b', 105)), b.lastAnywhere('ann', 105, peer('a', 100))];
    expect(results).toEqual([false, true]);
  });

  it('takes a refused join back without a tombstone, and unions members in join order', () => {
    const a = new NatsMembershipBook('a');
    a.join('g', 'zed', 'c1', undefined);
    a.undo('g', 'zed', 'c1');
    expect(a.answer('g')).toEqual({ members: [], left: {} });
    a.join('g', 'bob', 'c2', { n: 2 });
    const peers = parseGroupAnswers([{ node: 'b', body: { members: [{ userId: 'ann', since: 1, info: { n: 1 } }, { userId: 'bob', since: 2 }], left: {} } }]);
    expect(a.union('g', peers).map((member) => member.userId)).toEqual(['ann', 'bob']);
  });

  it('ignores malformed peer answers', () => {
    expect(parseGroupAnswers([{ node: 'x', body: 'nope' }, { node: 'y', body: { members: [{ userId: 1 }], left: { ann: 'x' } } }])).toEqual([{ node: 'y', answer: { members: [], left: {} } }]);
  });
});
