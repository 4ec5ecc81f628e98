// The pool of subscriber processes (client-worker.mjs), driven over IPC.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { forkWorker } from './children.mjs';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'client-worker.mjs');

class Worker {
  constructor() {
    this.child = forkWorker(script);
    this.received = 0;
    this.doneAt = 0;
    this.waiters = new Map();
    this.child.on('message', (msg) => {
      if (msg.type === 'progress') this.received = msg.received;
      else if (msg.type === 'done') this.doneAt = msg.at;
      const waiter = this.waiters.get(msg.type);
      if (waiter) {
        this.waiters.delete(msg.type);
        waiter(msg);
      }
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Sends `msg` and resolves with the first reply of `replyType`, or rejects after `timeoutMs`. */
  request(msg, replyType, timeoutMs) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(replyType);
        reject(new Error(`client worker gave no '${replyType}' within ${timeoutMs} ms`));
      }, timeoutMs);
      // `exited` never rejects; the second handler only keeps the promise from floating.
      this.exited.then(
        ({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`client worker exited (${code ?? signal}) while waiting for '${replyType}'`));
        },
        reject,
      );
      this.waiters.set(replyType, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.child.send(msg);
    });
  }
}

export class WorkerPool {
  /** Clients [0, n) are split into contiguous ranges, one per worker. */
  constructor(count, n) {
    this.workers = Array.from({ length: count }, () => new Worker());
    this.ranges = this.workers.map((_, w) => [Math.floor((w * n) / count), Math.floor(((w + 1) * n) / count)]);
  }

  async connect(spec, timeoutMs) {
    const replies = await Promise.all(
      this.workers.map((w, k) =>
        w.request({ type: 'connect', ...spec, from: this.ranges[k][0], to: this.ranges[k][1] }, 'connected', timeoutMs),
      ),
    );
    const errors = new Map();
    for (const r of replies) for (const [e, c] of r.errors) errors.set(e, (errors.get(e) ?? 0) + c);
    return {
      ready: replies.reduce((s, r) => s + r.ready, 0),
      failed: replies.reduce((s, r) => s + r.failed, 0),
      errors: [...errors.entries()],
    };
  }

  /** Zeroes counters; each worker expects `perClient` deliveries on each of its clients. */
  async reset(perClient) {
    await Promise.all(
      this.workers.map((w, k) => {
        w.received = 0;
        w.doneAt = 0;
        return w.request({ type: 'reset', expect: perClient * (this.ranges[k][1] - this.ranges[k][0]) }, 'reset-ok', 10_000);
      }),
    );
  }

  get received() {
    return this.workers.reduce((s, w) => s + w.received, 0);
  }

  get allDone() {
    return this.workers.every((w, k) => w.doneAt > 0 || this.ranges[k][0] === this.ranges[k][1]);
  }

  async collect() {
    const replies = await Promise.all(this.workers.map((w) => w.request({ type: 'collect' }, 'collected', 30_000)));
    const closes = new Map();
    for (const r of replies) for (const [e, c] of r.closes) closes.set(e, (closes.get(e) ?? 0) + c);
    const samples = new Float64Array(replies.reduce((s, r) => s + r.samples.length, 0));
    let at = 0;
    for (const r of replies) {
      samples.set(r.samples, at);
      at += r.samples.length;
    }
    return {
      received: replies.reduce((s, r) => s + r.received, 0),
      doneAt: Math.max(...replies.map((r) => r.doneAt)),
      samples,
      clientCpuMicros: replies.reduce((s, r) => s + r.cpuMicros, 0),
      badFrames: replies.reduce((s, r) => s + r.badFrames, 0),
      firstBad: replies.find((r) => r.firstBad)?.firstBad ?? '',
      closes: [...closes.entries()],
      open: replies.reduce((s, r) => s + r.open, 0),
    };
  }

  async close() {
    await Promise.all(
      this.workers.map(async (w) => {
        if (w.child.exitCode !== null || w.child.signalCode !== null) return;
        w.child.send({ type: 'close' });
        const timer = setTimeout(() => w.child.kill('SIGKILL'), 3000);
        await w.exited;
        clearTimeout(timer);
      }),
    );
  }
}
