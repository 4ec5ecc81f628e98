import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ErrorBoundary } from '../common/error-boundary.js';
import { parseRequestTarget } from '../common/request-target.js';
import { HeraldConfig } from '../config/herald-config.js';
import { MetricsService } from './metrics.service.js';

/**
 * The optional metrics-only port (`METRICS_PORT`, soketi/Sockudo use 9601): a bare node http server
 * answering `GET /metrics`, so Prometheus can scrape a port that is not exposed to clients.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private server?: Server;

  constructor(
    private readonly config: HeraldConfig,
    private readonly metrics: MetricsService,
    private readonly boundary: ErrorBoundary,
  ) {}

  /** The port actually bound (useful with `METRICS_PORT=0`), or undefined when disabled. */
  get port(): number | undefined {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.metricsPort === undefined) return;
    const server = createServer((request, response) => this.handle(request, response));
    // Half-open requests on this port must not hold descriptors either.
    server.headersTimeout = this.config.handshakeTimeoutMs;
    server.requestTimeout = Math.max(this.config.handshakeTimeoutMs, 30_000);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.metricsPort, this.config.host, () => resolve());
    });
    this.server = server;
    this.logger.log(`Metrics on http://${this.config.host}:${this.port}/metrics`);
  }

  /** Inside the error boundary (`where="http"`): every target, absolute-form or garbage, gets a status, never a throw. */
  private handle(request: IncomingMessage, response: ServerResponse): void {
    try {
      const target = parseRequestTarget(request.url);
      if (!target) {
        response.writeHead(400, { 'Content-Type': 'text/plain' }).end('Bad Request');
        return;
      }
      if (request.method !== 'GET' || target.pathname !== '/metrics') {
        response.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found');
        return;
      }
      this.metrics.metrics().then(
        (body) => response.writeHead(200, { 'Content-Type': this.metrics.contentType, 'Cache-Control': 'no-store' }).end(body),
        (error: unknown) => this.fail(response, error),
      );
    } catch (error) {
      this.fail(response, error);
    }
  }

  private fail(response: ServerResponse, error: unknown): void {
    this.boundary.report('http', error, 'metrics port');
    try {
      if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'text/plain' });
      response.end('Internal Server Error');
    } catch {
      response.destroy();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
