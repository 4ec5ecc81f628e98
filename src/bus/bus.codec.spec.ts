import fc from 'fast-check';
import { frames } from '../../test/support/json-arbitraries.js';
import { BusCodec } from './bus.codec.js';

describe('BusCodec.parse', () => {
  const codec = new BusCodec();

  it('refuses a frame nested deeper than the limit, echoing its id', () => {
    const deep = '['.repeat(5_000) + ']'.repeat(5_000);
    expect(codec.parse(`{"id":"a","cmd":"x","data":${deep}}`)).toEqual({ ok: false, id: 'a', message: 'frame JSON nested deeper than 64 levels' });
    expect(codec.parse(`{"id":"a","cmd":"x","data":${'['.repeat(63)}${']'.repeat(63)}}`)).toMatchObject({ ok: true });
  });

  it('property: every input gives a frame or an error with a message, never a throw; accepted frames re-encode', () => {
    fc.assert(
      fc.property(frames(['id', 'cmd', 'data']), (text) => {
        const parsed = codec.parse(text);
        if (parsed.ok) {
          expect(typeof parsed.frame.id).toBe('string');
          expect(typeof parsed.frame.cmd).toBe('string');
          expect(() => codec.error(parsed.frame.id, 'x') + JSON.stringify(parsed.frame.data)).not.toThrow();
        } else {
          expect(typeof parsed.message).toBe('string');
          expect(parsed.id === null || typeof parsed.id === 'string').toBe(true);
          expect(() => codec.error(parsed.id, parsed.message)).not.toThrow();
        }
      }),
      { numRuns: 1_500 },
    );
  });
});
