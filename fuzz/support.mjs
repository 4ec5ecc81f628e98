// Shared by the fuzz targets: what every parser must guarantee, checked on each input.

/** Deepest nesting of a parsed value (explicit stack: the values may be deep). */
export function depthOf(value) {
  let deepest = 0;
  const stack = [[value, 0]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [current, depth] = item;
    if (typeof current !== 'object' || current === null) continue;
    deepest = Math.max(deepest, depth + 1);
    for (const member of Object.values(current)) stack.push([member, depth + 1]);
  }
  return deepest;
}

export function check(condition, what, input) {
  if (!condition) throw new Error(`${what} for input ${JSON.stringify(input.slice(0, 200))}`);
}

/** Whatever a parser accepted must re-encode: that is what overflowed before the depth bound. */
export function encodes(value, input) {
  try {
    JSON.stringify(value);
  } catch (error) {
    throw new Error(`accepted value does not encode (${error.message}) for input ${JSON.stringify(input.slice(0, 200))}`);
  }
}
