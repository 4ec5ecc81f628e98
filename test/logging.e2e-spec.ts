import request from 'supertest';
import { eventually } from './support/eventually.js';
import { DEV_API_KEY, startApp, type RunningApp } from './support/start-app.js';
import { userToken } from './support/tokens.js';

type LogLine = Record<string, unknown> & { level: number; msg: string };

/**
 * An in-process pino destination. nestjs-pino builds one root logger per process (the first app's
 * options win), so every app in this file shares this capture and LOG_LEVEL.
 */
const capture = {
  raw: [] as string[],
  write(chunk: string) {
    this.raw.push(chunk);
  },
  get text(): string {
    return this.raw.join('');
  },
  lines(): LogLine[] {
    return this.text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LogLine);
  },
};

describe('structured logs', () => {
  let server: RunningApp;
  beforeEach(async () => {
    capture.raw.length = 0;
    server = await startApp({ LOG_LEVEL: 'info' }, { logDestination: capture });
  });
  afterEach(async () => server?.close());

  it('writes every line as JSON, startup lines included', () => {
    const lines = capture.lines();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toEqual(expect.objectContaining({ level: expect.any(Number), time: expect.any(String), msg: expect.any(String) }));
    expect(lines.some((line) => line.context === 'RoutesResolver' || line.context === 'RouterExplorer')).toBe(true);
  });

  it('logs one line per connection open and close with app, protocol, user, duration and close code, and never the token', async () => {
    const token = userToken({ sub: 'alice', sid: 'sess-1' });
    const client = await server.connect(`/ws/bus?token=${token}`);
    await eventually(() => expect(capture.lines().filter((l) => l.event === 'ws_open' && l.user === 'alice')).toHaveLength(1));
    const open = capture.lines().find((l) => l.event === 'ws_open' && l.user === 'alice')!;
    expect(open).toMatchObject({ level: 30, context: 'Connections', app: 'app-id', protocol: 'bus', msg: 'connection opened' });
    expect(open.connectionId).toEqual(expect.any(String));

    client.socket.close(4000, 'bye');
    await client.closed();
    await eventually(() => expect(capture.lines().filter((l) => l.event === 'ws_close' && l.connectionId === open.connectionId)).toHaveLength(1));
    const close = capture.lines().find((l) => l.event === 'ws_close' && l.connectionId === open.connectionId)!;
    expect(close).toMatchObject({ level: 30, app: 'app-id', protocol: 'bus', user: 'alice', code: 4000, msg: 'connection closed' });
    expect(close.durationMs).toEqual(expect.any(Number));
    expect(close.durationMs as number).toBeGreaterThanOrEqual(0);

    // A revoked socket's line carries 4001.
    const bob = await server.connect(`/ws/bus?token=${userToken({ sub: 'bob', sid: 'sess-bob' })}`);
    await request(server.baseUrl).post('/api/sessions/sess-bob/revoke').set('Authorization', `Bearer ${DEV_API_KEY}`).expect(200);
    await bob.closed();
    await eventually(() => expect(capture.lines().find((l) => l.event === 'ws_close' && l.user === 'bob')).toMatchObject({ code: 4001 }));

    expect(capture.text).not.toContain(token);
    expect(capture.text).not.toContain(token.split('.')[2]);
  });

  it('logs REST requests with a request id (kept from X-Request-Id or generated) and no credentials', async () => {
    const given = await request(server.baseUrl)
      .get('/api/connections?token=very-secret-query-token&x=1')
      .set('Authorization', `Bearer ${DEV_API_KEY}`)
      .set('X-Request-Id', 'req-from-proxy-42');
    expect(given.status).toBe(200);
    expect(given.headers['x-request-id']).toBe('req-from-proxy-42');
    const generated = await request(server.baseUrl).get('/api/connections').set('Authorization', 'Bearer wrong-key-123');
    expect(generated.status).toBe(401);
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

    await eventually(() => expect(capture.lines().filter((l) => l.msg === 'request completed' || l.msg === 'request errored')).toHaveLength(2));
    const [ok, refused] = capture.lines().filter((l) => (l.req as { url?: string } | undefined)?.url?.startsWith('/api/connections'));
    expect(ok).toMatchObject({ level: 30, req: { id: 'req-from-proxy-42', method: 'GET', url: '/api/connections?token=[redacted]&x=1' }, res: { statusCode: 200 } });
    expect(refused).toMatchObject({ level: 40, req: { id: generated.headers['x-request-id'] }, res: { statusCode: 401 } });
    expect(capture.text).not.toContain(DEV_API_KEY);
    expect(capture.text).not.toContain('wrong-key-123');
    expect(capture.text).not.toContain('very-secret-query-token');
    // Probes and scrapes are not logged.
    await request(server.baseUrl).get('/health/live').expect(200);
    await request(server.baseUrl).get('/metrics').expect(200);
    await request(server.baseUrl).get('/api/connections').set('Authorization', `Bearer ${DEV_API_KEY}`).set('X-Request-Id', 'marker');
    await eventually(() => expect(capture.lines().some((l) => (l.req as { id?: string } | undefined)?.id === 'marker')).toBe(true));
    expect(capture.lines().some((l) => /^\/(health|metrics)/.test((l.req as { url?: string } | undefined)?.url ?? ''))).toBe(false);
  });
});
