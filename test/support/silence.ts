import { isDeepStrictEqual } from 'node:util';

/**
 * Proof of absence for state a test observes (pusher-js callbacks, webhook receivers, member counts): what
 * `read()` returns must stay as it was at the start for `windowMs`; fails as soon as it changes, with both
 * values. Resolves with that (unchanged) value. For frames on a TestClient, use `TestClient.expectSilence`.
 */
export async function expectSilence<T>(read: () => T, windowMs = 150, intervalMs = 10): Promise<T> {
  const before = structuredClone(read());
  const deadline = Date.now() + windowMs;
  for (;;) {
    const now = read();
    if (!isDeepStrictEqual(now, before)) {
      throw new Error(`expected no change for ${windowMs} ms; was ${JSON.stringify(before)}, became ${JSON.stringify(now)}`);
    }
    if (Date.now() >= deadline) return before;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(1, deadline - Date.now()))));
  }
}
