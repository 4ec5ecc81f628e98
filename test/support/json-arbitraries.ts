import fc from 'fast-check';

/** Deepest nesting of a parsed JSON value, with an explicit stack (the values may be deep). */
export function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [current, depth] = item;
    if (typeof current !== 'object' || current === null) continue;
    deepest = Math.max(deepest, depth + 1);
    for (const member of Object.values(current)) stack.push([member, depth + 1]);
  }
  return deepest;
}

/** Any UTF-16 string, lone surrogates included. */
export const anyText = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), maxLength: 200 });

/** `levels` of arrays/objects mixed, optionally wrapping `inner`: `[{"a":[…]}]`. */
export const deepJson = fc
  .tuple(fc.integer({ min: 1, max: 6_000 }), fc.boolean(), fc.boolean())
  .map(([levels, objects, closed]) => {
    const open = objects ? '{"k":[' : '[';
    const close = objects ? ']}' : ']';
    const count = objects ? Math.ceil(levels / 2) : levels;
    return open.repeat(count) + (closed ? close.repeat(count) : '');
  });

/** A frame for a protocol whose members are known: right names, any (ill-typed) values, extra members. */
export function frameOf(keys: readonly string[]): fc.Arbitrary<string> {
  const member = fc.oneof(fc.jsonValue({ maxDepth: 4 }), anyText, fc.constantFrom(...keys));
  return fc
    .tuple(
      fc.dictionary(fc.constantFrom(...keys), member, { maxKeys: keys.length }),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }),
      fc.option(deepJson, { freq: 4 }),
    )
    .map(([known, extra, deep]) => {
      const text = JSON.stringify({ ...extra, ...known });
      // Put a deep value in one member, as text (stringifying it would overflow).
      return deep === null || text === '{}' ? text : text.replace(/:[^,}]*(,|}$)/, `:${deep}$1`);
    });
}

/** Random text, random JSON, deep nesting, ill-typed frames and byte-level mutations of them. */
export function frames(keys: readonly string[]): fc.Arbitrary<string> {
  const valid = frameOf(keys);
  const mutated = fc.tuple(valid, fc.nat(), anyText).map(([text, at, insert]) => text.slice(0, at % (text.length + 1)) + insert + text.slice(at % (text.length + 1)));
  return fc.oneof(anyText, fc.json({ maxDepth: 5 }), deepJson, valid, valid, mutated);
}
