import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AppModuleOptions } from '../../src/app.module.js';
import { createHeraldApp, listen } from '../../src/bootstrap.js';
import { loadSettings } from '../../src/config/config.loader.js';
import type { HeraldSettings } from '../../src/config/herald-config.js';
import { TestClient } from './ws-client.js';

export const DEV_API_KEY = 'app-api-key';

export interface RunningApp {
  app: NestExpressApplication;
  settings: HeraldSettings;
  baseUrl: string;
  wsUrl: string;
  port: number;
  /** Every client opened through `connect`/`open`, closed by `close()`. */
  clients: TestClient[];
  connect(path: string, options?: import('ws').ClientOptions): Promise<TestClient>;
  open(path: string): TestClient;
  close(): Promise<void>;
}

/**
 * Boots the real AppModule on an ephemeral port. `env` is read exactly like the process environment
 * (HERALD_APPS, HERALD_OUTBOX_SIZE, …) so tests exercise the same config path as production.
 */
export async function startApp(env: Record<string, string> = {}, options: AppModuleOptions = {}): Promise<RunningApp> {
  const settings = loadSettings({ LOG_LEVEL: 'error', ...env });
  const app = await createHeraldApp(settings, options);
  await listen(app, { ...settings, host: '127.0.0.1' }, 0);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const baseUrl = `http://127.0.0.1:${port}`;
  const wsUrl = `ws://127.0.0.1:${port}`;
  const clients: TestClient[] = [];
  return {
    app,
    settings,
    baseUrl,
    wsUrl,
    port,
    clients,
    async connect(path, options) {
      const client = await TestClient.connect(`${wsUrl}${path}`, options);
      clients.push(client);
      return client;
    },
    open(path) {
      const client = TestClient.open(`${wsUrl}${path}`);
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
      await app.close();
    },
  };
}
