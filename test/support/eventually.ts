/** Retries an assertion until it passes or `timeoutMs` runs out (for effects that land after a close handshake). */
export async function eventually<T>(assertion: () => Promise<T> | T, timeoutMs = 3000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
