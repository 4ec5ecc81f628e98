import { FrameQueue, type FrameKind } from './frame-queue.js';

const frame = (text: string) => Buffer.from(text);
const drain = (queue: FrameQueue) => {
  const out: string[] = [];
  for (let f = queue.shift(); f !== undefined; f = queue.shift()) out.push(f.toString());
  return out;
};

describe('FrameQueue', () => {
  it('keeps send order and exact counters across wrap-around and growth', () => {
    const queue = new FrameQueue();
    const model: { text: string; kind: FrameKind }[] = [];
    let n = 0;
    const kinds: FrameKind[] = ['data', 'data', 'reply', 'data', 'replay'];
    for (let round = 0; round < 200; round++) {
      for (let k = 0; k < (round % 7) + 1; k++) {
        const kind = kinds[n % kinds.length];
        const text = `${kind}-${n++}`;
        queue.push(frame(text), kind);
        model.push({ text, kind });
      }
      for (let k = 0; k < round % 5; k++) {
        const shifted = queue.shift();
        expect(shifted?.toString()).toBe(model.shift()?.text);
      }
      if (round % 3 === 0 && model.some((m) => m.kind === 'data')) {
        const index = model.findIndex((m) => m.kind === 'data');
        const [removed] = model.splice(index, 1);
        expect(queue.dropOldestData()).toBe(removed.text.length);
      }
      expect(queue.length).toBe(model.length);
      expect(queue.bytes).toBe(model.reduce((sum, m) => sum + m.text.length, 0));
      expect(queue.dataCount).toBe(model.filter((m) => m.kind === 'data').length);
      expect(queue.replayBytes).toBe(model.filter((m) => m.kind === 'replay').reduce((sum, m) => sum + m.text.length, 0));
    }
    expect(drain(queue)).toEqual(model.map((m) => m.text));
    expect(queue.bytes).toBe(0);
  });

  it('skips the oldest data frame behind replies without reordering the replies', () => {
    const queue = new FrameQueue();
    queue.push(frame('r1'), 'reply');
    queue.push(frame('r2'), 'reply');
    queue.push(frame('d1'), 'data');
    queue.push(frame('d2'), 'data');
    expect(queue.dropOldestData()).toBe(2);
    expect(drain(queue)).toEqual(['r1', 'r2', 'd2']);
    expect(queue.dropOldestData()).toBe(-1);
  });
});
