import fc from 'fast-check';
import { decodePathSegment, parseRequestTarget } from './request-target.js';

describe('parseRequestTarget', () => {
  it('parses origin-form targets', () => {
    const target = parseRequestTarget('/ws/bus?app=key-1&token=t');
    expect(target?.pathname).toBe('/ws/bus');
    expect(target?.searchParams.get('app')).toBe('key-1');
  });

  it('parses well-formed absolute-form targets by their path (RFC 9112 §3.2.2)', () => {
    expect(parseRequestTarget('http://example.com/app/k?protocol=7')?.pathname).toBe('/app/k');
  });

  it.each(['http://a:b/ws/bus', 'http://[/ws/bus', '*', '', 'ws://%zz/x', 'javascript:alert(1)', 'mailto:x@y'])('refuses %s', (raw) => {
    expect(parseRequestTarget(raw)).toBeNull();
  });

  it('keeps bad escapes in the path (decoding is decodePathSegment’s job) and tolerates them in the query', () => {
    const target = parseRequestTarget('/app/%ZZ?app=%E2%82');
    expect(target?.pathname).toBe('/app/%ZZ');
    expect(target?.searchParams.get('app')).toBe('\ufffd');
  });

  it('never throws (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string().map((s) => `/${s}`), fc.string().map((s) => `http://${s}`)), (raw) => {
        expect(() => parseRequestTarget(raw)).not.toThrow();
      }),
      { numRuns: 3000 },
    );
  });
});

describe('decodePathSegment', () => {
  it('decodes and answers null for a malformed escape instead of throwing URIError', () => {
    expect(decodePathSegment('key%201')).toBe('key 1');
    expect(decodePathSegment('%ZZ')).toBeNull();
    expect(decodePathSegment('%E2%82')).toBeNull();
  });
});
