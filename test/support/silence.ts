/**
 * Proof of absence for state a test observes (pusher-js callbacks, webhook receivers, member counts): what
 * `read()` returns must stay as it was at the start (compared as JSON) for `windowMs`; fails as soon as it
 * changes, with both values. Resolves with the (unchanged) value. For frames on a TestClient, use
 * `TestClient.expectSilence`.
 */
export async function expectSilence<T>(read: () => T, windowMs = 150, intervalMs = 10): Promise<T> {
  // JSON, not util.isDeepStrictEqual: jest's VM context gives copies another realm's prototypes.
  const before = JSON.stringify(read());
  const deadline = Date.now() + windowMs;
  for (;;) {
    const now = read();
    const text = JSON.stringify(now);
    if (text !== before) throw new Error(`expected no change for ${windowMs} ms; was ${before}, became ${text}`);
    if (Date.now() >= deadline) return now;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(1, deadline - Date.now()))));
  }
}
