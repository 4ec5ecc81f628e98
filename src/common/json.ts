/**
 * The one JSON parser for every boundary (frames, HTTP bodies, broker payloads, signed strings).
 *
 * Why a depth bound: V8's `JSON.parse` is iterative and accepts any nesting, but `JSON.stringify`
 * (and any recursive walk) recurses once per level and overflows the stack at about 4,500 levels on
 * Node 20's default stack; a 9 KB `[[[…]]]` payload accepted at the edge would crash the node later,
 * while encoding it for a recipient. So nesting is bounded where text enters, by a linear scan that does
 * not recurse, before `JSON.parse` is trusted; everything past the boundary may then stringify freely.
 */

/** Default of `HERALD_MAX_JSON_DEPTH` (System.Text.Json's default `MaxDepth` is 64 too). */
export const DEFAULT_MAX_JSON_DEPTH = 64;
/** Upper bound of the setting: far below the ~4,500 levels where `JSON.stringify` overflows. */
export const MAX_JSON_DEPTH_SETTING = 1_000;
/**
 * Bound for payloads written by Herald nodes (Redis/NATS envelopes, state, history) and for strings
 * signed with the app's secret (Pusher `channel_data`, `user_data`): whatever an entry point accepted,
 * plus the few levels a wire format wraps around it, whatever the peer's setting. A safety bound (far
 * below the stack overflow), not a policy.
 */
export const PEER_MAX_JSON_DEPTH = MAX_JSON_DEPTH_SETTING + 8;

export interface JsonParseOptions {
  /** Deepest nesting of arrays/objects accepted (`{}` is depth 1, a scalar 0). */
  maxDepth: number;
}

export type JsonProblem = 'invalid' | 'too_deep' | 'not_object';

/** A parse result; never thrown. */
export type JsonParse<T = unknown> =
  | { ok: true; value: T }
  | {
      ok: false;
      problem: JsonProblem;
      /** For humans: what was wrong (no echo of the input). */
      message: string;
      /**
       * When the text is a JSON object nested too deep: its top-level members that are scalars
       * (string, number, boolean, null), so a protocol can still echo a request id. Never anything nested.
       */
      scalars?: Record<string, string | number | boolean | null>;
    };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Whether `text` nests arrays/objects deeper than `maxDepth`: one pass, constant memory, no
 * recursion, stops at the first level past the bound. Brackets inside strings (escapes respected)
 * do not count. Works on UTF-8 bytes as well as on strings: the six ASCII codes it looks at never
 * occur inside a multi-byte UTF-8 sequence. For text that is not JSON the answer is meaningless but
 * safe (the parser rejects such text anyway).
 */
export function exceedsJsonDepth(text: string | Uint8Array, maxDepth: number): boolean {
  return typeof text === 'string' ? textExceeds(text, maxDepth) : bytesExceed(text, maxDepth);
}

// Two copies of one loop (string units, bytes): a shared accessor closure made the scan 3x slower.
function textExceeds(text: string, maxDepth: number): boolean {
  const length = text.length;
  let depth = 0;
  for (let index = 0; index < length; index++) {
    const code = text.charCodeAt(index);
    if (code === QUOTE) {
      // Skip the string: a backslash escapes the next unit (for \uXXXX the hex digits are harmless).
      for (index++; index < length; index++) {
        const inner = text.charCodeAt(index);
        if (inner === BACKSLASH) index++;
        else if (inner === QUOTE) break;
      }
    } else if (code === OPEN_BRACKET || code === OPEN_BRACE) {
      if (++depth > maxDepth) return true;
    } else if ((code === CLOSE_BRACKET || code === CLOSE_BRACE) && depth > 0) {
      depth--;
    }
  }
  return false;
}

function bytesExceed(bytes: Uint8Array, maxDepth: number): boolean {
  const length = bytes.length;
  let depth = 0;
  for (let index = 0; index < length; index++) {
    const code = bytes[index];
    if (code === QUOTE) {
      for (index++; index < length; index++) {
        const inner = bytes[index];
        if (inner === BACKSLASH) index++;
        else if (inner === QUOTE) break;
      }
    } else if (code === OPEN_BRACKET || code === OPEN_BRACE) {
      if (++depth > maxDepth) return true;
    } else if ((code === CLOSE_BRACKET || code === CLOSE_BRACE) && depth > 0) {
      depth--;
    }
  }
  return false;
}

export function tooDeepMessage(maxDepth: number): string {
  return `JSON nested deeper than ${maxDepth} levels`;
}

/** Parses untrusted JSON text with a nesting bound; never throws. */
export function parseJson(text: string, options: JsonParseOptions): JsonParse {
  if (exceedsJsonDepth(text, options.maxDepth)) {
    return { ok: false, problem: 'too_deep', message: tooDeepMessage(options.maxDepth), ...scalarsOf(text) };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, problem: 'invalid', message: 'not valid JSON' };
  }
}

/** `parseJson`, then requires a JSON object (not an array, not a scalar). */
export function parseJsonObject(text: string, options: JsonParseOptions): JsonParse<Record<string, unknown>> {
  const parsed = parseJson(text, options);
  if (!parsed.ok) return parsed;
  if (!isRecord(parsed.value)) return { ok: false, problem: 'not_object', message: 'not a JSON object' };
  return { ok: true, value: parsed.value };
}

/** A peer's JSON (Redis/NATS payloads written by Herald nodes), or undefined; never throws. */
export function parsePeerJson(text: string): unknown {
  const parsed = parseJson(text, { maxDepth: PEER_MAX_JSON_DEPTH });
  return parsed.ok ? parsed.value : undefined;
}

/** A plain JSON object: not null, not an array. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The top-level scalar members of a too-deep object, read with `JSON.parse` (which is iterative in V8,
 * so it does not overflow whatever the nesting; the frame size bounds the memory). Nested values are
 * dropped before anything else can see them.
 */
function scalarsOf(text: string): { scalars?: Record<string, string | number | boolean | null> } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {};
  }
  if (!isRecord(value)) return {};
  const scalars: Record<string, string | number | boolean | null> = Object.create(null) as Record<string, string | number | boolean | null>;
  for (const [key, member] of Object.entries(value)) {
    if (member === null || typeof member === 'string' || typeof member === 'number' || typeof member === 'boolean') scalars[key] = member;
  }
  return { scalars };
}

/**
 * Whether an already-parsed value nests deeper than `maxDepth`: an explicit-stack walk (no recursion),
 * for bodies that arrive parsed without their text. Stops at the first level past the bound.
 */
export function valueExceedsJsonDepth(value: unknown, maxDepth: number): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (typeof item.value !== 'object' || item.value === null) continue;
    const depth = item.depth + 1;
    if (depth > maxDepth) return true;
    for (const member of Array.isArray(item.value) ? item.value : Object.values(item.value)) {
      if (typeof member === 'object' && member !== null) stack.push({ value: member, depth });
    }
  }
  return false;
}
