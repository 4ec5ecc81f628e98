import fc from 'fast-check';
import { closeReason, MAX_CLOSE_REASON_BYTES } from './close-reason.js';

describe('closeReason', () => {
  it('keeps short reasons as they are', () => {
    expect(closeReason('Unauthorized - token revoked')).toBe('Unauthorized - token revoked');
  });

  it('cuts 40 × € (120 bytes) + more at 123 bytes, never inside a character', () => {
    const cut = closeReason(`Unknown app key "${'€'.repeat(64)}"`);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
    expect(cut).toBe(`Unknown app key "${'€'.repeat(35)}`);
  });

  it('never splits a surrogate pair', () => {
    const cut = closeReason('😀'.repeat(40));
    expect(cut).toBe('😀'.repeat(30));
  });

  it('is the longest prefix at a code point boundary that ws accepts (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        const cut = closeReason(text);
        expect(text.startsWith(cut)).toBe(true);
        expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
        if (cut.length < text.length) {
          const code = text.codePointAt(cut.length) ?? 0;
          const next = text.slice(0, cut.length + (code > 0xffff ? 2 : 1));
          expect(Buffer.byteLength(next)).toBeGreaterThan(MAX_CLOSE_REASON_BYTES);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('counts a lone surrogate as the 3 bytes ws sends for it (U+FFFD)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '\ud800', '\udc00', '€', '😀'), maxLength: 200 }), (text) => {
        expect(Buffer.byteLength(closeReason(text))).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
      }),
    );
  });
});
