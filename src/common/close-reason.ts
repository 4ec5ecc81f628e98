/**
 * A WebSocket close reason travels in a control frame whose payload is at most 125 bytes, 2 of them the
 * code (RFC 6455 §5.5), so `ws` throws a RangeError for a reason above 123 bytes. Reasons often echo
 * client input (`?app=`, a Pusher key), and 123 characters of `€` are 369 bytes: every `close(code,
 * reason)` in Herald passes its reason through `closeReason`.
 */

/** Largest close reason in UTF-8 bytes (125-byte control payload minus the 2-byte code). */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * `text` cut to at most `MAX_CLOSE_REASON_BYTES` UTF-8 bytes at a character boundary (never half a code point;
 * a lone surrogate, encoded by `ws` as U+FFFD's 3 bytes, is counted as such). Allocation-free for short ASCII.
 */
export function closeReason(text: string): string {
  // Fast path: at most 3 bytes per UTF-16 unit, so 41 units always fit.
  if (text.length <= MAX_CLOSE_REASON_BYTES / 3) return text;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    let size: number;
    let units = 1;
    if (unit < 0x80) size = 1;
    else if (unit < 0x800) size = 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      size = 4;
      units = 2;
    } else size = 3;
    if (bytes + size > MAX_CLOSE_REASON_BYTES) return text.slice(0, i);
    bytes += size;
    i += units - 1;
  }
  return text;
}
