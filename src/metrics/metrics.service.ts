import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RawData } from 'ws';
import { HeraldConfig } from '../config/herald-config.js';
import type { Connection } from '../connections/connection.js';
import { ConnectionRegistry } from '../connections/connection-registry.service.js';
import { PROTOCOLS } from '../connections/identity.js';
import { LabelCache } from './label-cache.js';
import { ERROR_SITES, type ErrorSite } from '../common/error-sites.js';
import { rawDataLength } from '../ws/raw-data.js';

/** Which limit refused something (`rate_limit_triggered_total{limit}`); a closed set keeps labels bounded. */
export type RateLimitKind = 'ws_upgrade' | 'http' | 'frames' | 'backend_events' | 'client_events' | 'read_requests' | 'origin';
/** Limits counted per app (the others are per client IP and counted with `app_id=""`). */
const APP_RATE_LIMITS: readonly RateLimitKind[] = ['frames', 'backend_events', 'client_events', 'read_requests', 'origin'];
const IP_RATE_LIMITS: readonly RateLimitKind[] = ['ws_upgrade', 'http'];

/** Close code of revocations (ConnectionRevoker); counted as revoked connections. */
const CLOSE_SESSION_REVOKED = 4001;

const CONNECTION_LABELS = ['app_id', 'protocol'] as const;
const APP_LABEL = ['app_id'] as const;

/** Seconds from `Envelope.publishedAt` to the socket write: sub-millisecond locally, tens of ms across a cluster. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Hot-path counters of one (app, protocol): plain numbers, copied into prom-client at scrape time. */
interface SocketCell {
  app: string;
  protocol: string;
  receivedMessages: number;
  receivedBytes: number;
  sentMessages: number;
  sentBytes: number;
}

/** Hot-path counters of one app. */
interface AppCell {
  deliveries: number;
  latency: Histogram.Internal<'app_id'>;
}

/** WebSocket frame header bytes for a server→client text frame of `length` payload bytes (unmasked). */
function frameHeaderBytes(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}


/**
 * Every Prometheus instrument of Herald, in one registry of its own (several apps in one process, as in
 * the tests, never share counters). Names follow soketi/Sockudo where the meaning is the same, behind a
 * configurable prefix (`HERALD_METRICS_PREFIX`, default `herald_`; `soketi_` keeps soketi dashboards).
 * Labels are bounded: app ids, protocol names, transport kinds, limit kinds — never channels or users.
 *
 * Hot-path methods do O(1) work with cached children and allocate nothing.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly prefix: string;

  private readonly connected: Gauge<'app_id' | 'protocol'>;
  private readonly newConnections: Counter<'app_id' | 'protocol'>;
  private readonly newDisconnections: Counter<'app_id' | 'protocol'>;
  private readonly revoked: Counter<'app_id' | 'protocol'>;
  private readonly sockets = new LabelCache<SocketCell>((app, protocol) => ({
    app,
    protocol,
    receivedMessages: 0,
    receivedBytes: 0,
    sentMessages: 0,
    sentBytes: 0,
  }));
  private readonly subscriptions: Gauge<'app_id' | 'protocol'>;
  private readonly subscribes: Counter<'app_id' | 'protocol'>;
  private readonly unsubscribes: Counter<'app_id' | 'protocol'>;
  private readonly activeChannels: Gauge<'app_id'>;
  private readonly skippedMessages: Counter<'app_id' | 'protocol'>;
  private readonly latency: Histogram<'app_id'>;
  private readonly transportLatency: Histogram<'transport'>;
  private readonly transportErrors: Counter<'transport'>;
  private readonly httpCalls: Counter<'app_id'>;
  private readonly httpReceived: Counter<'app_id'>;
  private readonly httpTransmitted: Counter<'app_id'>;
  private readonly webhookDeliveries: Counter<'app_id'>;
  private readonly webhookRetries: Counter<'app_id'>;
  private readonly webhookDrops: Counter<'app_id'>;
  private readonly webhookDuration: Histogram<'app_id'>;
  private readonly rateLimits: Counter<'app_id' | 'limit'>;
  private readonly internalErrors: Counter<'where'>;

  private readonly apps = new Map<string, AppCell>();
  /** Envelopes delivered this turn (children and publish times, parallel arrays); observed once after the writer's flush. */
  private pendingLatency: Histogram.Internal<'app_id'>[] = [];
  private pendingPublishedAt: number[] = [];
  private latencyScheduled = false;
  private readonly observeLatency = () => this.flushLatency();

  constructor(config: HeraldConfig, registry: ConnectionRegistry) {
    const p = (this.prefix = config.metricsPrefix);
    const reg = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: p });

    // soketi / Sockudo compatible names (soketi's byte counters have no `_total`; kept as they are).
    this.connected = new Gauge({ name: `${p}connected`, help: 'Currently connected sockets', labelNames: CONNECTION_LABELS, registers: reg });
    this.newConnections = new Counter({ name: `${p}new_connections_total`, help: 'Sockets opened', labelNames: CONNECTION_LABELS, registers: reg });
    this.newDisconnections = new Counter({ name: `${p}new_disconnections_total`, help: 'Sockets closed', labelNames: CONNECTION_LABELS, registers: reg });
    // Frame and byte counters are plain numbers on the hot path, copied in when scraped.
    const sockets = this.sockets;
    const socketCounter = (name: string, help: string, read: (cell: SocketCell) => number) =>
      new Counter({
        name: `${p}${name}`,
        help,
        labelNames: CONNECTION_LABELS,
        registers: reg,
        collect() {
          this.reset();
          for (const cell of sockets.values()) this.inc({ app_id: cell.app, protocol: cell.protocol }, read(cell));
        },
      });
    socketCounter('ws_messages_received_total', 'WebSocket frames received from clients', (cell) => cell.receivedMessages);
    socketCounter('ws_messages_sent_total', 'WebSocket frames sent to clients (broadcasts and replies)', (cell) => cell.sentMessages);
    socketCounter('socket_received_bytes', 'WebSocket payload bytes received', (cell) => cell.receivedBytes);
    socketCounter('socket_transmitted_bytes', 'WebSocket bytes sent (frames incl. headers)', (cell) => cell.sentBytes);
    this.httpCalls = new Counter({ name: `${p}http_calls_received_total`, help: 'HTTP requests received', labelNames: APP_LABEL, registers: reg });
    this.httpReceived = new Counter({ name: `${p}http_received_bytes`, help: 'HTTP request body bytes received', labelNames: APP_LABEL, registers: reg });
    this.httpTransmitted = new Counter({ name: `${p}http_transmitted_bytes`, help: 'HTTP response body bytes sent', labelNames: APP_LABEL, registers: reg });
    // Sockudo names.
    this.activeChannels = new Gauge({ name: `${p}active_channels`, help: 'Channels with at least one subscriber on this node', labelNames: APP_LABEL, registers: reg });
    this.subscribes = new Counter({ name: `${p}channel_subscriptions_total`, help: 'Channel subscriptions made', labelNames: CONNECTION_LABELS, registers: reg });
    this.unsubscribes = new Counter({ name: `${p}channel_unsubscriptions_total`, help: 'Channel subscriptions ended (incl. by disconnect)', labelNames: CONNECTION_LABELS, registers: reg });
    this.rateLimits = new Counter({ name: `${p}rate_limit_triggered_total`, help: 'Requests, upgrades or frames refused by a limit', labelNames: ['app_id', 'limit'], registers: reg });
    // Herald's own.
    this.subscriptions = new Gauge({ name: `${p}subscriptions`, help: 'Current channel subscriptions on this node', labelNames: CONNECTION_LABELS, registers: reg });
    this.revoked = new Counter({ name: `${p}revoked_connections_total`, help: 'Sockets closed by a revocation (4001)', labelNames: CONNECTION_LABELS, registers: reg });
    this.skippedMessages = new Counter({ name: `${p}messages_skipped_total`, help: 'Messages dropped from lagging readers\' outboxes (skip-forward)', labelNames: CONNECTION_LABELS, registers: reg });
    const apps = this.apps;
    new Counter({
      name: `${p}deliveries_total`,
      help: 'Messages queued for a recipient (one per recipient)',
      labelNames: APP_LABEL,
      registers: reg,
      collect() {
        this.reset();
        for (const [app, cell] of apps) this.inc({ app_id: app }, cell.deliveries);
      },
    });
    this.latency = new Histogram({ name: `${p}publish_to_send_seconds`, help: 'Envelope publishedAt to the socket write of its recipients on this node', labelNames: APP_LABEL, buckets: LATENCY_BUCKETS, registers: reg });
    this.transportLatency = new Histogram({ name: `${p}cluster_publish_seconds`, help: 'Time for the cluster transport to accept a publish', labelNames: ['transport'], buckets: LATENCY_BUCKETS, registers: reg });
    this.transportErrors = new Counter({ name: `${p}cluster_publish_errors_total`, help: 'Publishes the cluster transport refused', labelNames: ['transport'], registers: reg });
    this.webhookDeliveries = new Counter({ name: `${p}webhook_deliveries_total`, help: 'Webhook requests answered 2xx', labelNames: APP_LABEL, registers: reg });
    this.webhookRetries = new Counter({ name: `${p}webhook_retries_total`, help: 'Webhook requests retried', labelNames: APP_LABEL, registers: reg });
    this.webhookDrops = new Counter({ name: `${p}webhook_dropped_total`, help: 'Webhooks given up on after the last retry (or dropped on overflow)', labelNames: APP_LABEL, registers: reg });
    this.internalErrors = new Counter({ name: `${p}internal_errors_total`, help: 'Errors caught by an error boundary (the process kept running)', labelNames: ['where'], registers: reg });
    for (const where of ERROR_SITES) this.internalErrors.labels(where).inc(0);
    this.webhookDuration = new Histogram({ name: `${p}webhook_duration_seconds`, help: 'Webhook request duration', labelNames: APP_LABEL, registers: reg });

    // Outbox depth is read at scrape time (O(connections) once per scrape, nothing on the hot path).
    new Gauge({
      name: `${p}outbox_queued_messages`,
      help: 'Messages waiting in connection outboxes (backpressure)',
      labelNames: CONNECTION_LABELS,
      registers: reg,
      collect() {
        this.reset();
        for (const connection of registry.all()) {
          if (connection.outbox && connection.outbox.length > 0) this.inc({ app_id: connection.tenant, protocol: connection.protocol }, connection.outbox.length);
        }
      },
    });
    new Gauge({
      name: `${p}lagging_connections`,
      help: 'Connections whose send buffer is over the high-water mark',
      labelNames: CONNECTION_LABELS,
      registers: reg,
      collect() {
        this.reset();
        for (const connection of registry.all()) {
          if (connection.awaitingDrain) this.inc({ app_id: connection.tenant, protocol: connection.protocol });
        }
      },
    });
    this.initializeSeries(config.apps.map((app) => app.id));
    // The transport's kind is the configured adapter (`ClusterTransport.kind`).
    this.transportErrors.inc({ transport: config.adapter }, 0);
    this.transportLatency.zero({ transport: config.adapter });
  }

  /**
   * Every series whose labels are known up front exists from the start at 0 (Prometheus practice: `rate()` and
   * alerts see a series before its first increment): each configured app × protocol, each limit kind.
   */
  private initializeSeries(appIds: readonly string[]): void {
    for (const app_id of appIds) {
      for (const protocol of PROTOCOLS) {
        const labels = { app_id, protocol };
        this.connected.set(labels, 0);
        this.subscriptions.set(labels, 0);
        for (const counter of [this.newConnections, this.newDisconnections, this.revoked, this.subscribes, this.unsubscribes, this.skippedMessages]) counter.inc(labels, 0);
        this.sockets.get(app_id, protocol);
      }
      const app = { app_id };
      this.activeChannels.set(app, 0);
      for (const counter of [this.httpCalls, this.httpReceived, this.httpTransmitted, this.webhookDeliveries, this.webhookRetries, this.webhookDrops]) counter.inc(app, 0);
      this.webhookDuration.zero(app);
      this.latency.zero(app);
      if (!this.apps.has(app_id)) this.apps.set(app_id, { deliveries: 0, latency: this.latency.labels(app_id) });
      for (const limit of APP_RATE_LIMITS) this.rateLimits.inc({ app_id, limit }, 0);
    }
    for (const limit of IP_RATE_LIMITS) this.rateLimits.inc({ app_id: '', limit }, 0);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** One error caught by the ErrorBoundary at `where`. */
  internalError(where: ErrorSite): void {
    this.internalErrors.labels(where).inc();
  }

  // ---- connections (from ConnectionRegistry.events$) ----

  connectionOpened(connection: Connection): void {
    this.connected.labels(connection.tenant, connection.protocol).inc();
    this.newConnections.labels(connection.tenant, connection.protocol).inc();
  }

  connectionClosed(connection: Connection, code: number): void {
    this.connected.labels(connection.tenant, connection.protocol).dec();
    this.newDisconnections.labels(connection.tenant, connection.protocol).inc();
    if (code === CLOSE_SESSION_REVOKED) this.revoked.labels(connection.tenant, connection.protocol).inc();
  }

  subscribed(connection: Connection, firstOnNode: boolean): void {
    this.subscriptions.labels(connection.tenant, connection.protocol).inc();
    this.subscribes.labels(connection.tenant, connection.protocol).inc();
    if (firstOnNode) this.activeChannels.labels(connection.tenant).inc();
  }

  unsubscribed(connection: Connection, lastOnNode: boolean): void {
    this.subscriptions.labels(connection.tenant, connection.protocol).dec();
    this.unsubscribes.labels(connection.tenant, connection.protocol).inc();
    if (lastOnNode) this.activeChannels.labels(connection.tenant).dec();
  }

  // ---- frames ----

  /**
   * One call per inbound client frame, first thing in a gateway's `message` handler:
   * `socket.on('message', (data, isBinary) => { this.metrics.frameReceived(connection, data); … })`.
   */
  frameReceived(connection: Connection, data: RawData): void {
    const cell = this.sockets.get(connection.tenant, connection.protocol);
    cell.receivedMessages++;
    cell.receivedBytes += rawDataLength(data);
  }

  /** Broadcast frames written by the SocketWriter (one call per socket per flush). */
  framesSent(connection: Connection, frames: number, bytes: number): void {
    const cell = this.sockets.get(connection.tenant, connection.protocol);
    cell.sentMessages += frames;
    cell.sentBytes += bytes;
  }

  /** A direct reply (`Connection.sendText`). */
  textSent(connection: Connection, text: string): void {
    const cell = this.sockets.get(connection.tenant, connection.protocol);
    const length = Buffer.byteLength(text);
    cell.sentMessages++;
    cell.sentBytes += length + frameHeaderBytes(length);
  }

  messagesSkipped(connection: Connection, skipped: number): void {
    this.skippedMessages.labels(connection.tenant, connection.protocol).inc(skipped);
  }

  // ---- delivery and cluster ----

  /**
   * Called once per envelope per node (not per recipient). The latency is observed after the current
   * turn's writes: the SocketWriter flushes in a `setImmediate` queued before this one.
   */
  delivered(app: string, publishedAt: number, recipients: number): void {
    if (recipients === 0) return;
    let cell = this.apps.get(app);
    if (!cell) this.apps.set(app, (cell = { deliveries: 0, latency: this.latency.labels(app) }));
    cell.deliveries += recipients;
    this.pendingLatency.push(cell.latency);
    this.pendingPublishedAt.push(publishedAt);
    if (!this.latencyScheduled) {
      this.latencyScheduled = true;
      setImmediate(this.observeLatency);
    }
  }

  transportPublished(transport: string, seconds: number, failed: boolean): void {
    this.transportLatency.labels(transport).observe(seconds);
    if (failed) this.transportErrors.labels(transport).inc();
  }

  // ---- HTTP ----

  httpCall(app: string, receivedBytes: number, transmittedBytes: number): void {
    this.httpCalls.labels(app).inc();
    this.httpReceived.labels(app).inc(receivedBytes);
    this.httpTransmitted.labels(app).inc(transmittedBytes);
  }

  // ---- webhooks (called by the webhook sender) ----

  /** A webhook request answered 2xx, after `seconds`. */
  webhookDelivered(appId: string, seconds?: number): void {
    this.webhookDeliveries.labels(appId).inc();
    if (seconds !== undefined) this.webhookDuration.labels(appId).observe(seconds);
  }

  /** A failed webhook request that will be tried again. */
  webhookRetried(appId: string): void {
    this.webhookRetries.labels(appId).inc();
  }

  /** A webhook given up on (retries exhausted or queue overflow). */
  webhookDropped(appId: string): void {
    this.webhookDrops.labels(appId).inc();
  }

  // ---- limits ----

  /** Something was refused by a limit; `appId` is '' for per-IP limits that precede app resolution. */
  rateLimited(appId: string, limit: RateLimitKind, count = 1): void {
    this.rateLimits.labels(appId, limit).inc(count);
  }

  private flushLatency(): void {
    this.latencyScheduled = false;
    const histograms = this.pendingLatency;
    const publishedAt = this.pendingPublishedAt;
    this.pendingLatency = [];
    this.pendingPublishedAt = [];
    const now = Date.now();
    for (let i = 0; i < histograms.length; i++) histograms[i].observe(Math.max(0, now - publishedAt[i]) / 1000);
  }
}
