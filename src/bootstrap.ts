import 'reflect-metadata';
import { Logger, type INestApplication, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import bodyParser from 'body-parser';
import type { IncomingMessage } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { AppModule, type AppModuleOptions } from './app.module.js';
import { setupDocs } from './docs/openapi.js';
import type { HeraldSettings } from './config/herald-config.js';
import { LifecycleState } from './health/lifecycle-state.service.js';
import { ShutdownService } from './health/shutdown.service.js';
import { ErrorBoundary } from './common/error-boundary.js';
import { ClientIpResolver } from './limits/client-ip.service.js';
import { UpgradeAdmission } from './limits/upgrade-admission.service.js';
import { HandshakeGuard } from './ws/handshake-guard.js';
import { HeraldWsAdapter } from './ws/herald-ws.adapter.js';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

function nestLogLevels(level: HeraldSettings['logLevel']): LogLevel[] {
  const mapped: LogLevel = level === 'info' ? 'log' : level === 'trace' ? 'verbose' : level;
  return LEVELS.slice(0, LEVELS.indexOf(mapped) + 1);
}

/** Largest body the Pusher HTTP API may legitimately receive (a full batch of maximum-size events plus JSON overhead). */
function pusherBodyLimit(settings: HeraldSettings): number {
  const batches = settings.apps.map((app) => Math.ceil(app.maxEventPayloadInKb * 1024 * app.maxEventBatchSize * 1.25) + 16 * 1024);
  return Math.max(settings.maxBodyBytes, ...batches);
}

/** The Pusher signature covers the raw body (`body_md5`), so keep it as Nest's `rawBody: true` does. */
function keepRawBody(request: IncomingMessage & { rawBody?: Buffer }, _response: unknown, buffer: Buffer): void {
  request.rawBody = buffer;
}

/** Creates and configures (but does not start) a Herald app; shared by `main.ts` and the tests. */
export async function createHeraldApp(settings: HeraldSettings, options: AppModuleOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(settings, options), {
    rawBody: true,
    bodyParser: false,
    logger: nestLogLevels(settings.logLevel),
    // Startup lines wait for pino (JSON) instead of going to Nest's console logger.
    bufferLogs: true,
  });
  app.useLogger(app.get(PinoNestLogger));
  // The Pusher HTTP API enforces its own per-app limits (maxEventPayloadInKb × maxEventBatchSize), which can exceed
  // the REST body limit: give /apps a parser sized for the largest allowed batch, registered first so it wins.
  app.use('/apps', bodyParser.json({ limit: pusherBodyLimit(settings), verify: keepRawBody }));
  app.useBodyParser('json', { limit: settings.maxBodyBytes });
  if (settings.docsEnabled) setupDocs(app);
  const admission = app.get(UpgradeAdmission);
  const boundary = app.get(ErrorBoundary);
  const ips = app.get(ClientIpResolver);
  // On the raw TCP `connection` event, before any header is read: half-open handshakes time out and are capped per peer.
  new HandshakeGuard({
    handshakeTimeoutMs: settings.handshakeTimeoutMs,
    maxPendingPerIp: settings.maxPendingHandshakesPerIp,
    isTrusted: (address) => ips.isTrusted(address),
    logger: new Logger('Upgrades'),
    boundary,
  }).attach(app.getHttpServer());
  app.useWebSocketAdapter(
    new HeraldWsAdapter(app, {
      maxPayload: settings.maxFrameBytes,
      admit: (request) => admission.admit(request),
      boundary,
      clientIp: (request) => ips.resolve(request),
      maxConnections: settings.maxConnections,
      maxConnectionsPerIp: settings.maxConnectionsPerIp,
    }),
  );
  return app;
}

/** Starts listening and marks the node ready. */
export async function listen(app: INestApplication, settings: HeraldSettings, port = settings.port): Promise<string> {
  await app.listen(port, settings.host);
  app.get(LifecycleState).markReady();
  const address = app.getHttpServer().address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return `http://${settings.host}:${actualPort}`;
}

/** SIGTERM: readiness 503, clients told to reconnect, then close and exit 0 within the grace period. */
export async function drainAndClose(app: INestApplication, settings: HeraldSettings): Promise<void> {
  const logger = new Logger('Herald');
  await app.get(ShutdownService).drain(Math.max(0, settings.shutdownGraceMs - 500));
  await app.close();
  logger.log('Stopped');
}
