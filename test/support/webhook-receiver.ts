import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  rawBody: string;
  body: { time_ms: number; events: Record<string, unknown>[] };
}

/** A real HTTP webhook receiver; `respond` decides each answer's status (or hangs with 0). */
export class Receiver {
  readonly requests: Received[] = [];
  /** Requests received and never answered (`respond` returned 0). */
  hanging = 0;
  respond: (index: number) => number = () => 200;
  private waiters: { match: (event: Record<string, unknown>) => boolean; resolve: (r: Received) => void }[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const status = this.respond(this.requests.length);
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const received: Received = { headers: request.headers, rawBody, body: JSON.parse(rawBody) };
        if (status === 0) {
          this.hanging++; // hang: a receiver that never answers
          return;
        }
        response.writeHead(status).end();
        if (status >= 300) return;
        this.requests.push(received);
        for (const waiter of [...this.waiters]) {
          if (received.body.events.some(waiter.match)) {
            this.waiters = this.waiters.filter((w) => w !== waiter);
            waiter.resolve(received);
          }
        }
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  events(): Record<string, unknown>[] {
    return this.requests.flatMap((r) => r.body.events);
  }

  next(match: (event: Record<string, unknown>) => boolean, timeoutMs = 3000): Promise<Received> {
    const existing = this.requests.find((r) => r.body.events.some(match));
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no webhook matched in ${timeoutMs} ms; got ${JSON.stringify(this.events())}`)), timeoutMs);
      this.waiters.push({ match, resolve: (r) => (clearTimeout(timer), resolve(r)) });
    });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Matches a webhook event by name and fields. */
export const named = (name: string, extra: Record<string, unknown> = {}) => (event: Record<string, unknown>) =>
  event.name === name && Object.entries(extra).every(([k, v]) => event[k] === v);
