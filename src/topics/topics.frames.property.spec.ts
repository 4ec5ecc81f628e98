import fc from 'fast-check';
import { frames } from '../../test/support/json-arbitraries.js';
import { parseTopicsFrame, topicFrame } from './topics.frames.js';

describe('parseTopicsFrame (properties)', () => {
  it('refuses a frame nested deeper than the limit as #error', () => {
    const deep = '['.repeat(5_000) + ']'.repeat(5_000);
    expect(parseTopicsFrame(`{"command":"join","topics":["a"],"payload":${deep}}`, 200, 64)).toEqual({ ok: false, command: null, message: 'frame JSON nested deeper than 64 levels' });
  });

  it('any input gives a command, a #join/#leave refusal or an #error message, never a throw', () => {
    fc.assert(
      fc.property(frames(['command', 'broker', 'topics', 'payload']), (text) => {
        const parsed = parseTopicsFrame(text, 200, 64);
        if (parsed.ok) {
          expect(['join', 'leave', 'headers']).toContain(parsed.frame.command);
        } else if (parsed.command === null) {
          expect(() => topicFrame('#error', parsed.message)).not.toThrow();
        } else {
          expect(parsed.topics.every((topic) => typeof topic === 'string')).toBe(true);
          expect(() => topicFrame('#join', parsed.topics)).not.toThrow();
        }
      }),
      { numRuns: 1_500 },
    );
  });
});
