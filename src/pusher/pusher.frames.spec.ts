import fc from 'fast-check';
import { frames } from '../../test/support/json-arbitraries.js';
import { errorFrame, parseInbound, pusherFrame } from './pusher.frames.js';

describe('parseInbound', () => {
  const deep = '['.repeat(5_000) + ']'.repeat(5_000);

  it('refuses a client event nested deeper than the limit (it crashed the node while relaying)', () => {
    expect(parseInbound(`{"event":"client-x","channel":"private-a","data":${deep}}`, 64)).toEqual({ ok: false, message: 'Frame JSON nested deeper than 64 levels' });
  });

  it('bounds the double-encoded data of protocol events too', () => {
    expect(parseInbound(JSON.stringify({ event: 'pusher:subscribe', data: deep }), 64)).toEqual({ ok: false, message: '"data" JSON nested deeper than 64 levels' });
    // A client event's string data is relayed as the publisher's text: never parsed.
    expect(parseInbound(JSON.stringify({ event: 'client-x', channel: 'private-a', data: deep }), 64)).toMatchObject({ ok: true, frame: { data: deep } });
  });

  it('property: every input gives a frame or a message for pusher:error, never a throw; accepted frames re-encode', () => {
    fc.assert(
      fc.property(frames(['event', 'channel', 'data']), fc.integer({ min: 1, max: 80 }), (text, maxDepth) => {
        const parsed = parseInbound(text, maxDepth);
        if (parsed.ok) {
          expect(typeof parsed.frame.event).toBe('string');
          expect(() => pusherFrame(parsed.frame.event, parsed.frame.data, parsed.frame.channel)).not.toThrow();
        } else {
          expect(() => errorFrame(parsed.message)).not.toThrow();
        }
      }),
      { numRuns: 1_500 },
    );
  });
});
