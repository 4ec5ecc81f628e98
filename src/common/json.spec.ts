import fc from 'fast-check';
import { anyText, deepJson, depthOf } from '../../test/support/json-arbitraries.js';
import { DEFAULT_MAX_JSON_DEPTH, exceedsJsonDepth, isRecord, parseJson, parseJsonObject, parsePeerJson, valueExceedsJsonDepth } from './json.js';

const nest = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

describe('parseJson', () => {
  it('parses JSON within the bound and refuses deeper text without parsing it', () => {
    expect(parseJson('{"a":[1,{"b":null}]}', { maxDepth: 3 })).toEqual({ ok: true, value: { a: [1, { b: null }] } });
    expect(parseJson(nest(3), { maxDepth: 3 })).toEqual({ ok: true, value: [[[]]] });
    expect(parseJson(nest(4), { maxDepth: 3 })).toMatchObject({ ok: false, problem: 'too_deep', message: 'JSON nested deeper than 3 levels' });
    expect(parseJson('"x"', { maxDepth: 0 })).toEqual({ ok: true, value: 'x' });
  });

  it('does not count brackets inside strings, escapes included', () => {
    expect(exceedsJsonDepth('["[[[[", "\\"[[[[", "\\\\", "{{{{"]', 1)).toBe(false);
    expect(exceedsJsonDepth('["\\\\"]', 1)).toBe(false);
    expect(exceedsJsonDepth('["\\\\",[]]', 1)).toBe(true);
  });

  it('reports invalid JSON as invalid, never throws', () => {
    expect(parseJson('{', { maxDepth: 64 })).toEqual({ ok: false, problem: 'invalid', message: 'not valid JSON' });
    expect(parseJson('', { maxDepth: 64 })).toMatchObject({ ok: false, problem: 'invalid' });
    expect(parseJson('\ud800', { maxDepth: 64 })).toMatchObject({ ok: false, problem: 'invalid' });
  });

  it('hands a too-deep object back only as its top-level scalars (to echo an id)', () => {
    const parsed = parseJson(`{"id":7,"name":"x","flag":true,"none":null,"params":${nest(5_000)}}`, { maxDepth: 64 });
    expect(parsed).toMatchObject({ ok: false, problem: 'too_deep' });
    if (parsed.ok) return;
    expect({ ...parsed.scalars }).toEqual({ id: 7, name: 'x', flag: true, none: null });
    expect(parseJson(nest(5_000), { maxDepth: 64 })).not.toHaveProperty('scalars');
  });

  it('scans 1 MB of nesting in linear time without recursion', () => {
    expect(exceedsJsonDepth(nest(500_000), DEFAULT_MAX_JSON_DEPTH)).toBe(true);
    expect(exceedsJsonDepth(Buffer.from(nest(500_000)), 1_000_000)).toBe(false);
    expect(valueExceedsJsonDepth(JSON.parse(nest(100_000)), 64)).toBe(true);
  });

  it('parseJsonObject wants an object; parsePeerJson answers undefined for anything unusable', () => {
    expect(parseJsonObject('[]', { maxDepth: 4 })).toMatchObject({ ok: false, problem: 'not_object' });
    expect(parseJsonObject('{"a":1}', { maxDepth: 4 })).toEqual({ ok: true, value: { a: 1 } });
    expect(parsePeerJson('nope')).toBeUndefined();
    expect(parsePeerJson(nest(5_000))).toBeUndefined();
    expect(parsePeerJson('{"a":[1]}')).toEqual({ a: [1] });
    expect([isRecord({}), isRecord([]), isRecord(null), isRecord('x')]).toEqual([true, false, false, false]);
  });

  describe('properties', () => {
    it('the scan agrees with the depth of the parsed value, on strings and on UTF-8 bytes', () => {
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 12 }), fc.integer({ min: 0, max: 14 }), (value, maxDepth) => {
          const text = JSON.stringify(value);
          const deeper = depthOf(value) > maxDepth;
          expect(exceedsJsonDepth(text, maxDepth)).toBe(deeper);
          expect(exceedsJsonDepth(Buffer.from(text), maxDepth)).toBe(deeper);
          expect(valueExceedsJsonDepth(value, maxDepth)).toBe(deeper);
        }),
        { numRuns: 500 },
      );
    });

    it('never throws; ok exactly when JSON.parse accepts the text and it is within the bound; ok values stringify', () => {
      fc.assert(
        fc.property(fc.oneof(anyText, fc.json(), deepJson, fc.string({ unit: 'binary' })), fc.integer({ min: 0, max: 100 }), (text, maxDepth) => {
          const parsed = parseJson(text, { maxDepth });
          let reference: { ok: boolean; value?: unknown };
          try {
            reference = { ok: true, value: JSON.parse(text) as unknown };
          } catch {
            reference = { ok: false };
          }
          if (parsed.ok) {
            expect(reference.ok).toBe(true);
            expect(depthOf(parsed.value)).toBeLessThanOrEqual(maxDepth);
            expect(() => JSON.stringify(parsed.value)).not.toThrow();
          } else if (parsed.problem === 'invalid') {
            expect(reference.ok).toBe(false);
          } else {
            expect(parsed.problem).toBe('too_deep');
            if (reference.ok) expect(depthOf(reference.value)).toBeGreaterThan(maxDepth);
          }
        }),
        { numRuns: 1_000 },
      );
    });
  });
});
