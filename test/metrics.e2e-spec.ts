import request from 'supertest';
import { ConnectionRegistry } from '../src/connections/connection-registry.service.js';
import { MetricsServer } from '../src/metrics/metrics-server.service.js';
import { eventually } from './support/eventually.js';
import { metricTypes, scrape, valueOf, type Sample } from './support/prometheus.js';
import { DEV_API_KEY, startApp, type RunningApp } from './support/start-app.js';
import { userToken } from './support/tokens.js';

const BUS = { app_id: 'app-id', protocol: 'bus' };
const APP = { app_id: 'app-id' };
type BusFrame = { id: string | null; cmd: string; data: Record<string, unknown> };

/** Bytes of a server→client text frame carrying `text` (unmasked header + payload). */
function frameBytes(text: string): number {
  const length = Buffer.byteLength(text);
  return length + (length < 126 ? 2 : length < 65536 ? 4 : 10);
}

describe('Prometheus metrics', () => {
  let server: RunningApp;
  afterEach(async () => server?.close());

  it('serves the text format with default process metrics and every Herald instrument', async () => {
    server = await startApp();
    const { text, samples, contentType } = await scrape(server.baseUrl);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(valueOf(samples, 'herald_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(text).toContain('# TYPE herald_nodejs_eventloop_lag_seconds gauge');
    const types = metricTypes(text);
    const expected: Record<string, string> = {
      herald_connected: 'gauge',
      herald_new_connections_total: 'counter',
      herald_new_disconnections_total: 'counter',
      herald_ws_messages_received_total: 'counter',
      herald_ws_messages_sent_total: 'counter',
      herald_socket_received_bytes: 'counter',
      herald_socket_transmitted_bytes: 'counter',
      herald_http_calls_received_total: 'counter',
      herald_http_received_bytes: 'counter',
      herald_http_transmitted_bytes: 'counter',
      herald_active_channels: 'gauge',
      herald_subscriptions: 'gauge',
      herald_channel_subscriptions_total: 'counter',
      herald_channel_unsubscriptions_total: 'counter',
      herald_messages_skipped_total: 'counter',
      herald_outbox_queued_messages: 'gauge',
      herald_lagging_connections: 'gauge',
      herald_deliveries_total: 'counter',
      herald_publish_to_send_seconds: 'histogram',
      herald_cluster_publish_seconds: 'histogram',
      herald_cluster_publish_errors_total: 'counter',
      herald_webhook_deliveries_total: 'counter',
      herald_webhook_retries_total: 'counter',
      herald_webhook_dropped_total: 'counter',
      herald_webhook_duration_seconds: 'histogram',
      herald_rate_limit_triggered_total: 'counter',
      herald_revoked_connections_total: 'counter',
    };
    for (const [name, type] of Object.entries(expected)) expect([name, types.get(name)]).toEqual([name, type]);
    // Scrapes do not move what they measure.
    const again = (await scrape(server.baseUrl)).samples;
    expect(valueOf(again, 'herald_http_calls_received_total')).toBe(valueOf(samples, 'herald_http_calls_received_total'));
  });

  it('has every configured app\'s series at 0 on a fresh node, before any traffic', async () => {
    server = await startApp({
      HERALD_APPS: JSON.stringify([
        { id: 'app-a', key: 'key-a', secret: 'secret-a', apiKeys: ['api-key-a-123'] },
        { id: 'app-b', key: 'key-b', secret: 'secret-b', apiKeys: ['api-key-b-123'] },
      ]),
    });
    const { samples } = await scrape(server.baseUrl);
    /** The series itself, not `valueOf`'s 0 for an absent one. */
    const series = (name: string, labels: Record<string, string>) =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    for (const app_id of ['app-a', 'app-b']) {
      for (const protocol of ['bus', 'pusher', 'rpc', 'jsonrpc', 'topics']) {
        for (const name of [
          'herald_connected',
          'herald_new_connections_total',
          'herald_new_disconnections_total',
          'herald_revoked_connections_total',
          'herald_ws_messages_received_total',
          'herald_ws_messages_sent_total',
          'herald_socket_received_bytes',
          'herald_socket_transmitted_bytes',
          'herald_subscriptions',
          'herald_channel_subscriptions_total',
          'herald_messages_skipped_total',
        ]) {
          expect({ name, app_id, protocol, values: series(name, { app_id, protocol }).map((s) => s.value) }).toEqual({ name, app_id, protocol, values: [0] });
        }
      }
      for (const name of ['herald_deliveries_total', 'herald_http_calls_received_total', 'herald_active_channels', 'herald_webhook_dropped_total', 'herald_publish_to_send_seconds_count']) {
        expect({ name, app_id, values: series(name, { app_id }).map((s) => s.value) }).toEqual({ name, app_id, values: [0] });
      }
      expect(series('herald_rate_limit_triggered_total', { app_id, limit: 'client_events' }).map((s) => s.value)).toEqual([0]);
    }
    expect(series('herald_rate_limit_triggered_total', { app_id: '', limit: 'ws_upgrade' }).map((s) => s.value)).toEqual([0]);
    expect(series('herald_cluster_publish_errors_total', { transport: 'local' }).map((s) => s.value)).toEqual([0]);
  });

  it('moves connection, frame, byte, delivery, latency and HTTP metrics by exactly what the traffic was', async () => {
    server = await startApp();
    const before = (await scrape(server.baseUrl)).samples;

    const alice = await server.connect(`/ws/bus?token=${userToken({ sub: 'alice' })}`);
    const bob = await server.connect(`/ws/bus?token=${userToken({ sub: 'bob', sid: 'bob-session' })}`);

    // Three client frames, three acks.
    const sentFrames = ['p1', 'p2', 'p3'].map((id) => JSON.stringify({ id, cmd: 'ping', data: {} }));
    for (const frame of sentFrames) alice.send(frame);
    const acks: string[] = [];
    for (const id of ['p1', 'p2', 'p3']) acks.push(JSON.stringify(await alice.next<BusFrame>((f) => f.id === id)));

    // One publish to the tenant: one frame to each of the two sockets.
    const body = JSON.stringify({ cmd: 'news', data: { n: 1 } });
    const published = await request(server.baseUrl)
      .post('/api/messages')
      .set('Authorization', `Bearer ${DEV_API_KEY}`)
      .set('Content-Type', 'application/json')
      .send(body);
    expect(published.status).toBe(202);
    const delivered = await alice.next<BusFrame>((f) => f.cmd === 'news');
    await bob.next<BusFrame>((f) => f.cmd === 'news');
    const broadcastText = JSON.stringify(delivered);

    let after: Sample[] = [];
    const delta = (name: string, labels: Record<string, string> = BUS) => valueOf(after, name, labels) - valueOf(before, name, labels);
    await eventually(async () => {
      after = (await scrape(server.baseUrl)).samples;
      expect(delta('herald_ws_messages_sent_total')).toBe(3 + 2);
    });

    expect(valueOf(after, 'herald_connected', BUS)).toBe(2);
    expect(delta('herald_new_connections_total')).toBe(2);
    expect(delta('herald_ws_messages_received_total')).toBe(3);
    expect(delta('herald_socket_received_bytes')).toBe(sentFrames.reduce((sum, f) => sum + Buffer.byteLength(f), 0));
    expect(delta('herald_socket_transmitted_bytes')).toBe(acks.reduce((sum, a) => sum + frameBytes(a), 0) + 2 * frameBytes(broadcastText));
    expect(delta('herald_deliveries_total', APP)).toBe(2);
    expect(delta('herald_publish_to_send_seconds_count', APP)).toBe(1);
    expect(delta('herald_cluster_publish_seconds_count', { transport: 'local' })).toBe(1);
    expect(delta('herald_cluster_publish_errors_total', { transport: 'local' })).toBe(0);
    expect(delta('herald_http_calls_received_total', APP)).toBe(1);
    expect(delta('herald_http_received_bytes', APP)).toBe(Buffer.byteLength(body));
    expect(delta('herald_http_transmitted_bytes', APP)).toBe(Buffer.byteLength(JSON.stringify(published.body)));

    // A revocation closes bob with 4001; alice leaves on her own.
    const revoked = await request(server.baseUrl).post('/api/sessions/bob-session/revoke').set('Authorization', `Bearer ${DEV_API_KEY}`);
    expect(revoked.body).toEqual({ closed: 1 });
    await alice.close();
    await eventually(async () => {
      after = (await scrape(server.baseUrl)).samples;
      expect(valueOf(after, 'herald_connected', BUS)).toBe(0);
    });
    expect(delta('herald_new_disconnections_total')).toBe(2);
    expect(delta('herald_revoked_connections_total')).toBe(1);
  });

  it('tracks channels and subscriptions from registry events', async () => {
    server = await startApp();
    const a = await server.connect(`/ws/bus?token=${userToken({ sub: 'a' })}`);
    await server.connect(`/ws/bus?token=${userToken({ sub: 'b' })}`);
    const registry = server.app.get(ConnectionRegistry);
    const [first, second] = [...registry.all()];
    registry.subscribe(first, 'room-1');
    registry.subscribe(second, 'room-1');
    registry.subscribe(second, 'room-2');
    let samples = (await scrape(server.baseUrl)).samples;
    expect(valueOf(samples, 'herald_active_channels', APP)).toBe(2);
    expect(valueOf(samples, 'herald_subscriptions', BUS)).toBe(3);
    expect(valueOf(samples, 'herald_channel_subscriptions_total', BUS)).toBe(3);

    registry.unsubscribe(second, 'room-2');
    await a.close(); // leaves room-1 by disconnecting, if it was `first`
    await eventually(() => expect(registry.size).toBe(1));
    samples = (await scrape(server.baseUrl)).samples;
    const remaining = [...registry.all()][0];
    expect(valueOf(samples, 'herald_subscriptions', BUS)).toBe(remaining.channels.size);
    expect(valueOf(samples, 'herald_active_channels', APP)).toBe(remaining.channels.size);
    expect(valueOf(samples, 'herald_channel_unsubscriptions_total', BUS)).toBe(3 - remaining.channels.size);
  });

  it('serves /metrics on METRICS_PORT too, and uses HERALD_METRICS_PREFIX', async () => {
    server = await startApp({ METRICS_PORT: '0', HERALD_METRICS_PREFIX: 'soketi_' });
    const port = server.app.get(MetricsServer).port;
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(server.port);
    await server.connect(`/ws/bus?token=${userToken()}`);
    const { samples } = await scrape(`http://127.0.0.1:${port}`);
    expect(valueOf(samples, 'soketi_connected', BUS)).toBe(1);
    expect(samples.some((s) => s.name.startsWith('herald_'))).toBe(false);
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
  });
});
