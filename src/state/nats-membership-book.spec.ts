import { decideFirst, decideLast, NatsMembershipBook, parseGroupAnswers } from './nats-membership-book.js';

/**
 * Two nodes' books talking as NatsPeers would carry it: `ask(from, to)` is `from`'s decision question
 * about `ann`, answered by `to` at that moment. b's id sorts before a's, so a tie on time goes to b.
 */
function pair() {
  const ids = { a: 'node-2', b: 'node-1' };
  const books = { a: new NatsMembershipBook(ids.a), b: new NatsMembershipBook(ids.b) };
  const ask = (from: 'a' | 'b', to: 'a' | 'b') => parseGroupAnswers([{ node: ids[to], body: books[to].answer('g', undefined, { userId: 'ann', asker: ids[from] }) }]);
  return { ...books, ask };
}

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

  describe('first join of a user joining on two nodes at once: exactly one', () => {
    it('when each saw the other (the (since, node) order decides, equal times included)', () => {
      const { a, b, ask } = pair();
      const onA = a.join('g', 'ann', 'c1', undefined)!;
      const onB = b.join('g', 'ann', 'c2', undefined)!;
      const [fromB, fromA] = [ask('a', 'b'), ask('b', 'a')];
      expect([a.firstAnywhere('g', 'ann', onA.since, fromB), b.firstAnywhere('g', 'ann', onB.since, fromA)].filter(Boolean)).toHaveLength(1);
    });

    it("when a's question reached b before b joined, within the same millisecond (the race of clocks and ids)", () => {
      const { a, b, ask } = pair();
      const onA = a.join('g', 'ann', 'c1', undefined)!;
      const fromB = ask('a', 'b'); // b: absent
      const onB = b.join('g', 'ann', 'c2', undefined)!;
      const fromA = ask('b', 'a'); // a: present
      // Same millisecond, and b sorts before a: only causality can tell who was first.
      const sameTime = onA.since;
      const firsts = [
        a.firstAnywhere('g', 'ann', sameTime, fromB),
        b.firstAnywhere('g', 'ann', sameTime, fromA.map((peer) => ({ ...peer, answer: { ...peer.answer, members: peer.answer.members.map((m) => ({ ...m, since: sameTime })) } }))),
      ];
      expect(onB.firstHere).toBe(true);
      expect(firsts).toEqual([true, false]);
    });
  });

  describe('last leave of a user leaving two nodes at once: exactly one', () => {
    it('when each asked after the other had left (the later departure decides)', () => {
      const { a, b, ask } = pair();
      a.join('g', 'ann', 'c1', undefined);
      b.join('g', 'ann', 'c2', undefined);
      const leftA = a.leave('g', 'ann', 'c1')!;
      const leftB = b.leave('g', 'ann', 'c2')!;
      const results = [a.lastAnywhere('g', 'ann', leftA, ask('a', 'b')), b.lastAnywhere('g', 'ann', leftB, ask('b', 'a'))];
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('when a was told b was still there, however the clocks order the departures', () => {
      const { a, b, ask } = pair();
      a.join('g', 'ann', 'c1', undefined);
      b.join('g', 'ann', 'c2', undefined);
      const leftA = a.leave('g', 'ann', 'c1')!;
      const fromB = ask('a', 'b'); // b: present, so a defers
      const leftB = b.leave('g', 'ann', 'c2')!;
      const fromA = ask('b', 'a'); // a: gone, left at leftA
      // Give a the later departure on the clock: b must still be the last, because a deferred to it.
      const skewed = fromA.map((peer) => ({ ...peer, answer: { ...peer.answer, left: { ann: leftB + 10 } } }));
      expect([a.lastAnywhere('g', 'ann', leftA, fromB), b.lastAnywhere('g', 'ann', leftB, skewed)]).toEqual([false, true]);
    });
  });

  it('is not the last leave while another node still has the user', () => {
    const { a, b, ask } = pair();
    a.join('g', 'ann', 'c1', undefined);
    b.join('g', 'ann', 'c2', undefined);
    expect(a.lastAnywhere('g', 'ann', a.leave('g', 'ann', 'c1')!, ask('a', 'b'))).toBe(false);
  });

  it('decides from answers alone: a holder told "absent" wins, a departure told "present" does not count', () => {
    expect(decideFirst('a', 100, [{ node: 'b', since: 200 }], () => false)).toBe(false);
    expect(decideFirst('a', 100, [{ node: 'b', since: 200 }], () => undefined)).toBe(true);
    expect(decideLast('a', 100, [], [{ node: 'b', at: 200 }], () => true)).toBe(true);
    expect(decideLast('a', 100, [], [{ node: 'b', at: 200 }], () => undefined)).toBe(false);
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

  it('keeps a departure of a user whose id is __proto__ and invents none for constructor', () => {
    const [peer] = parseGroupAnswers([{ node: 'b', body: JSON.parse('{"members":[],"left":{"__proto__":5}}') as unknown }]);
    expect(Object.keys(peer.answer.left)).toEqual(['__proto__']);
    expect(peer.answer.left['__proto__']).toBe(5);
    expect(peer.answer.left['constructor']).toBeUndefined();
  });

  it('ignores malformed peer answers', () => {
    expect(parseGroupAnswers([{ node: 'x', body: 'nope' }, { node: 'y', body: { members: [{ userId: 1 }], left: { ann: 'x' } } }])).toEqual([{ node: 'y', answer: { members: [], left: {} } }]);
  });
});
