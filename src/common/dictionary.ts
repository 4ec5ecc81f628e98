/**
 * An object keyed by client-chosen strings (user ids, channel names) that becomes JSON: it has no
 * prototype, so `__proto__`, `constructor` or `toString` are plain keys (with `{}`, `o['__proto__'] = v`
 * sets the prototype instead and the key is lost from the JSON). Use a Map where nothing is serialized.
 */
export function dictionary<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
