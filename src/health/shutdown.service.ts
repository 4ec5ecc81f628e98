import { Injectable, Logger } from '@nestjs/common';
import { ConnectionRegistry } from '../connections/connection-registry.service.js';
import { LifecycleState } from './lifecycle-state.service.js';

/**
 * Graceful drain on SIGTERM: readiness turns 503 first, then every client is told to reconnect
 * elsewhere with its protocol's restart signal (bus 1012, Pusher 4200, RPC 1012), and the caller
 * closes the app once sockets are gone or the grace period ran out.
 */
@Injectable()
export class ShutdownService {
  private readonly logger = new Logger('Shutdown');

  constructor(
    private readonly state: LifecycleState,
    private readonly registry: ConnectionRegistry,
  ) {}

  /** Resolves when every socket closed, or after `graceMs`. */
  async drain(graceMs: number): Promise<void> {
    this.state.markDraining();
    const connections = [...this.registry.all()];
    this.logger.log(`Draining: telling ${connections.length} connection(s) to reconnect elsewhere`);
    for (const connection of connections) {
      const { code, reason, notice } = connection.codec.restart;
      if (notice) connection.sendText(notice);
      connection.close(code, reason);
    }
    const deadline = Date.now() + graceMs;
    while (this.registry.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    for (const connection of this.registry.all()) connection.socket.terminate();
  }
}
