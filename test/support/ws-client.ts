import WebSocket from 'ws';

/** A promise-based WebSocket client for tests: await the exact frame you expect, with a bounded timeout. */
export class TestClient {
  readonly frames: unknown[] = [];
  closeCode?: number;
  closeReason?: string;
  private waiters: { match: (frame: unknown) => boolean; resolve: (frame: unknown) => void }[] = [];
  private closeWaiters: ((value: { code: number; reason: string }) => void)[] = [];
  readonly opened: Promise<void>;

  constructor(readonly socket: WebSocket) {
    this.opened = new Promise((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    });
    socket.on('message', (data, isBinary) => {
      const text = data.toString();
      let frame: unknown = text;
      if (!isBinary) {
        try {
          frame = JSON.parse(text);
        } catch {
          frame = text;
        }
      }
      this.frames.push(frame);
      const waiter = this.waiters.find((w) => w.match(frame));
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(frame);
      }
    });
    socket.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      for (const resolve of this.closeWaiters) resolve({ code, reason: this.closeReason });
      this.closeWaiters = [];
    });
    socket.on('error', () => undefined);
  }

  static async connect(url: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
    const client = new TestClient(new WebSocket(url, options));
    await client.opened;
    return client;
  }

  /** Connects without waiting for open (for sockets the server closes right away). */
  static open(url: string, options: WebSocket.ClientOptions = {}): TestClient {
    const client = new TestClient(new WebSocket(url, options));
    client.opened.catch(() => undefined);
    return client;
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves with the first frame (already received or future) that matches. */
  next<T = Record<string, unknown>>(match: (frame: T) => boolean = () => true, timeoutMs = 3000, fromIndex = 0): Promise<T> {
    const existing = this.frames.slice(fromIndex).find((frame) => match(frame as T));
    if (existing !== undefined) {
      this.frames.splice(this.frames.indexOf(existing), 1);
      return Promise.resolve(existing as T);
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a frame; got ${JSON.stringify(this.frames).slice(0, 500)}`));
      }, timeoutMs);
      const waiter = {
        match: (frame: unknown) => match(frame as T),
        resolve: (frame: unknown) => {
          clearTimeout(timer);
          this.frames.splice(this.frames.indexOf(frame), 1);
          resolve(frame as T);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Asserts that no matching frame arrives within `windowMs` (proof of absence by a short silence window). */
  async expectSilence(match: (frame: Record<string, unknown>) => boolean = () => true, windowMs = 150): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const found = this.frames.find((frame) => match(frame as Record<string, unknown>));
    if (found !== undefined) throw new Error(`expected silence, got ${JSON.stringify(found)}`);
  }

  closed(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    if (this.closeCode !== undefined) return Promise.resolve({ code: this.closeCode, reason: this.closeReason ?? '' });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`socket not closed within ${timeoutMs} ms`)), timeoutMs);
      this.closeWaiters.push((value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    const done = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    if (this.socket.readyState === WebSocket.CONNECTING) this.socket.terminate();
    else this.socket.close();
    await done;
  }
}
