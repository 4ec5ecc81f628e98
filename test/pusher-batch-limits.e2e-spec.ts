import { serverSdk } from './support/pusher-clients.js';
import { startApp, type RunningApp } from './support/start-app.js';

describe('Pusher HTTP API body sizes', () => {
  let server: RunningApp;
  beforeAll(async () => {
    // A small REST limit must not cap the Pusher API, which has its own per-app limits.
    server = await startApp({ HERALD_MAX_BODY_BYTES: '8192' });
  });
  afterAll(async () => server.close());

  it('accepts a full batch of 10 events of ~9 KB each (bigger than the REST body limit)', async () => {
    const sdk = serverSdk(server);
    const batch = Array.from({ length: 10 }, (_, i) => ({ channel: `batch-${i}`, name: 'big', data: 'x'.repeat(9 * 1024) }));
    const response = await sdk.triggerBatch(batch);
    expect(response.status).toBe(200);
  });

  it('still answers 413 for one event over maxEventPayloadInKb', async () => {
    const sdk = serverSdk(server);
    await expect(sdk.trigger('big', 'too-big', 'x'.repeat(11 * 1024))).rejects.toMatchObject({ status: 413 });
  });

  it('keeps the REST body limit on /api', async () => {
    const response = await fetch(`${server.baseUrl}/api/messages`, {
      method: 'POST',
      headers: { Authorization: 'Bearer app-api-key', 'Content-Type': 'application/json' },
      body: JSON.stringify({ cmd: 'x', data: 'y'.repeat(9000) }),
    });
    expect(response.status).toBe(413);
  });
});
