import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { HeraldConfig } from '../config/herald-config.js';

type ReadyListener = (connection: NatsConnection) => void;

/**
 * The node's NATS connection, opened only when `HERALD_ADAPTER=nats`. Connecting never blocks
 * startup: the node starts with readiness down and connects (and later reconnects) in the
 * background, forever; NATS itself resubscribes every subscription after a reconnect.
 */
@Injectable()
export class NatsClient implements OnModuleDestroy {
  private readonly logger = new Logger('Nats');
  private connection?: NatsConnection;
  private opening?: Promise<void>;
  private closing = false;
  private readonly readyListeners: ReadyListener[] = [];
  private readonly reconnectListeners: (() => void)[] = [];
  connected = false;
  reconnections = 0;

  constructor(private readonly config: HeraldConfig) {}

  /** `<prefix>.<parts…>` */
  subject(...parts: string[]): string {
    return [this.config.clusterPrefix, ...parts].join('.');
  }

  /** The live connection, or undefined before the first connect. */
  get current(): NatsConnection | undefined {
    return this.closing ? undefined : this.connection;
  }

  /** Calls `listener` with the connection once it exists (subscriptions are set up once; NATS replays them). */
  onConnection(listener: ReadyListener): void {
    if (this.connection) listener(this.connection);
    else this.readyListeners.push(listener);
    this.open();
  }

  /** Calls `listener` after every reconnect (subscriptions are back; what was published meanwhile is not). */
  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  private open(): void {
    this.opening ??= this.connectLoop();
  }

  private async connectLoop(): Promise<void> {
    while (!this.closing) {
      try {
        const connection = await connect({
          servers: this.config.natsUrl,
          name: 'herald',
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          pingInterval: 5_000,
        });
        if (this.closing) {
          await connection.close();
          return;
        }
        this.connection = connection;
        this.connected = true;
        for (const listener of this.readyListeners.splice(0)) listener(connection);
        this.watch(connection).catch((error: unknown) => this.logger.error(`NATS status watch failed: ${String(error)}`));
        return;
      } catch (error) {
        this.logger.warn(`NATS connect failed: ${(error as Error).message}; retrying`);
        await new Promise((resolve) => setTimeout(resolve, 500).unref());
      }
    }
  }

  private async watch(connection: NatsConnection): Promise<void> {
    for await (const status of connection.status()) {
      switch (status.type) {
        case 'disconnect':
          this.connected = false;
          if (!this.closing) this.logger.warn(`NATS disconnected from ${status.server}`);
          break;
        case 'reconnect':
          this.connected = true;
          this.reconnections++;
          this.logger.log(`NATS reconnected to ${status.server}`);
          for (const listener of this.reconnectListeners) listener();
          break;
        case 'close':
          this.connected = false;
          break;
        default:
          break;
      }
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    this.connected = false;
    const connection = this.connection;
    if (connection && !connection.isClosed()) await connection.close().catch(() => undefined);
  }
}
