import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { ErrorBoundary } from '../common/error-boundary.js';
import { createHmac } from 'node:crypto';
import type { AppConfig, WebhookConfig } from '../config/herald-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { WEBHOOK_OPTIONS, type WebhookEvent, type WebhookOptions } from './webhook.events.js';

/** A batch in flight or waiting to be retried. */
interface Batch {
  events: WebhookEvent[];
  firstAttemptAt: number;
  attempts: number;
}

/** One configured webhook of one app: its own queue, so a slow receiver only delays itself. */
class WebhookQueue {
  pending: WebhookEvent[] = [];
  flushTimer?: NodeJS.Timeout;
  /** One request at a time per webhook keeps event order; others wait in `pending`. */
  inFlight = false;
  retry?: { batch: Batch; timer: NodeJS.Timeout };

  constructor(
    readonly app: AppConfig,
    readonly hook: WebhookConfig,
  ) {}
}

/** Counters for metrics (the metrics module reads them). */
export interface WebhookStats {
  sent: number;
  failedAttempts: number;
  dropped: number;
}

/**
 * Sends webhooks without ever blocking the caller: `enqueue` appends to the webhook's queue and
 * returns; a timer flushes batches (up to `maxBatch` events per POST). Non-2xx answers and network
 * errors are retried with exponential back-off until `retryForMs` has passed since the first attempt,
 * then the batch is dropped with a log line and the `dropped` counter.
 * Body `{"time_ms", "events"}`, `X-Pusher-Key`, `X-Pusher-Signature` = hex HMAC-SHA256(secret, body).
 */
@Injectable()
export class WebhookSender implements OnModuleDestroy {
  private readonly logger = new Logger('Webhooks');
  private readonly queues = new Map<string, WebhookQueue>();
  private readonly aborts = new Set<AbortController>();
  private closed = false;
  readonly stats: WebhookStats = { sent: 0, failedAttempts: 0, dropped: 0 };

  constructor(
    @Inject(WEBHOOK_OPTIONS) private readonly options: WebhookOptions,
    private readonly metrics: MetricsService,
    private readonly boundary: ErrorBoundary,
  ) {}

  onModuleDestroy(): void {
    this.closed = true;
    for (const queue of this.queues.values()) {
      clearTimeout(queue.flushTimer);
      if (queue.retry) clearTimeout(queue.retry.timer);
    }
    for (const abort of this.aborts) abort.abort();
    this.queues.clear();
  }

  enqueue(app: AppConfig, hook: WebhookConfig, event: WebhookEvent): void {
    if (this.closed) return;
    const key = `${app.id}\u0000${hook.url}`;
    let queue = this.queues.get(key);
    if (!queue) this.queues.set(key, (queue = new WebhookQueue(app, hook)));
    if (queue.pending.length >= this.options.maxQueued) {
      queue.pending.shift();
      this.drop(queue, 1, 'queue full');
    }
    queue.pending.push(event);
    this.schedule(queue);
  }

  private schedule(queue: WebhookQueue): void {
    if (queue.flushTimer || queue.inFlight || queue.retry || queue.pending.length === 0) return;
    const delay = queue.pending.length >= this.options.maxBatch ? 0 : this.options.batchWindowMs;
    queue.flushTimer = setTimeout(() => {
      queue.flushTimer = undefined;
      const events = queue.pending.splice(0, this.options.maxBatch);
      this.attempt(queue, { events, firstAttemptAt: Date.now(), attempts: 0 }).catch(this.boundary.catcher('task'));
    }, delay);
  }


  private async attempt(queue: WebhookQueue, batch: Batch): Promise<void> {
    queue.inFlight = true;
    batch.attempts++;
    const ok = await this.post(queue, batch.events);
    queue.inFlight = false;
    if (this.closed) return;
    if (ok) {
      this.stats.sent += batch.events.length;
      this.schedule(queue);
      return;
    }
    this.stats.failedAttempts++;
    this.metrics.webhookRetried(queue.app.id);
    const backoff = Math.min(this.options.maxBackoffMs, this.options.initialBackoffMs * 2 ** (batch.attempts - 1));
    if (Date.now() + backoff - batch.firstAttemptAt > this.options.retryForMs) {
      this.drop(queue, batch.events.length, `still failing after ${batch.attempts} attempt(s)`);
      this.schedule(queue);
      return;
    }
    queue.retry = {
      batch,
      timer: setTimeout(() => {
        queue.retry = undefined;
        this.attempt(queue, batch).catch(this.boundary.catcher('task'));
      }, backoff),
    };
  }

  private async post(queue: WebhookQueue, events: WebhookEvent[]): Promise<boolean> {
    const body = JSON.stringify({ time_ms: Date.now(), events });
    const started = performance.now();
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.options.requestTimeoutMs);
    this.aborts.add(abort);
    try {
      const response = await fetch(queue.hook.url, {
        method: 'POST',
        body,
        signal: abort.signal,
        headers: {
          // Custom headers first: they may not override the Pusher ones.
          ...queue.hook.headers,
          'Content-Type': 'application/json',
          'X-Pusher-Key': queue.app.key,
          'X-Pusher-Signature': createHmac('sha256', queue.app.secret).update(body).digest('hex'),
        },
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) {
        this.metrics.webhookDelivered(queue.app.id, (performance.now() - started) / 1000);
        return true;
      }
      this.logger.debug(`Webhook ${queue.hook.url} answered ${response.status}`);
      return false;
    } catch (error) {
      this.logger.debug(`Webhook ${queue.hook.url} failed: ${(error as Error).message}`);
      return false;
    } finally {
      clearTimeout(timer);
      this.aborts.delete(abort);
    }
  }

  private drop(queue: WebhookQueue, count: number, why: string): void {
    this.stats.dropped += count;
    for (let i = 0; i < count; i++) this.metrics.webhookDropped(queue.app.id);
    this.logger.warn(`Dropped ${count} webhook event(s) for app ${queue.app.id} to ${queue.hook.url}: ${why}`);
  }
}
