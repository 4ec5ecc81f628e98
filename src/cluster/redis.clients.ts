import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import { HeraldConfig } from '../config/herald-config.js';
import { TransportUnavailableError } from '../errors/app.errors.js';

/**
 * The node's two Redis connections, opened only when `HERALD_ADAPTER=redis`:
 * - `command`: PUBLISH and every shared-state command. No offline queue, so while Redis is away a
 *   command fails at once (→ 503) instead of waiting and being sent later, out of order.
 * - `subscriber`: the pub/sub connection (a subscribed connection can run nothing else).
 * Both retry forever with a capped backoff and never throw out of an `error` event.
 */
@Injectable()
export class RedisClients implements OnModuleDestroy {
  private readonly logger = new Logger('Redis');
  private clients?: { command: Redis; subscriber: Redis };
  private closing = false;
  /** Times the command connection became ready again after losing Redis. */
  reconnections = 0;

  constructor(private readonly config: HeraldConfig) {}

  get enabled(): boolean {
    return this.config.adapter === 'redis';
  }

  /** The connections, opened on first use. */
  get connections(): { command: Redis; subscriber: Redis } {
    if (!this.enabled) throw new Error('Redis is not the cluster adapter (HERALD_ADAPTER)');
    this.clients ??= { command: this.open('command', { enableOfflineQueue: false, enableAutoPipelining: true }), subscriber: this.open('subscriber', { autoResubscribe: false }) };
    return this.clients;
  }

  get command(): Redis {
    return this.connections.command;
  }

  get commandReady(): boolean {
    return this.clients?.command.status === 'ready';
  }

  /** `key` under the cluster prefix. */
  key(...parts: string[]): string {
    return [this.config.clusterPrefix, ...parts].join(':');
  }

  /** Runs a state command; any Redis failure becomes a `TransportUnavailableError` (503 + Retry-After). */
  async run<T>(operation: (redis: Redis) => Promise<T>): Promise<T> {
    if (!this.commandReady) throw new TransportUnavailableError('Redis is unavailable');
    try {
      return await operation(this.command);
    } catch (error) {
      throw new TransportUnavailableError(`Redis command failed: ${(error as Error).message}`);
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    if (!this.clients) return;
    const { command, subscriber } = this.clients;
    await Promise.all([quit(command), quit(subscriber)]);
  }

  private open(role: string, options: { enableOfflineQueue?: boolean; enableAutoPipelining?: boolean; autoResubscribe?: boolean }): Redis {
    const redis = new Redis(this.config.redisUrl, {
      ...options,
      maxRetriesPerRequest: 1,
      connectionName: `herald-${role}`,
      // Forever, capped at 1 s: a node outlives a Redis restart without operator help.
      retryStrategy: (times) => Math.min(50 * times, 1_000),
    });
    let wasReady = false;
    let lastError = '';
    redis.on('ready', () => {
      if (wasReady && role === 'command') this.reconnections++;
      if (wasReady) this.logger.log(`Redis ${role} connection is back`);
      wasReady = true;
      lastError = '';
    });
    redis.on('error', (error: Error) => {
      // Logged once per outage, not once per retry.
      if (!this.closing && error.message !== lastError) this.logger.warn(`Redis ${role} connection: ${error.message}`);
      lastError = error.message;
    });
    return redis;
  }
}

async function quit(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    if (redis.status === 'ready') await redis.quit();
    else redis.disconnect();
  } catch {
    redis.disconnect();
  }
}
