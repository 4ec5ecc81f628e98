import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type { Subscription } from 'rxjs';
import { ConnectionRegistry } from '../connections/connection-registry.service.js';

/**
 * One structured line per WebSocket open and close: app, protocol, connection id, user (JWT `sub` or
 * signed-in id; never the token), and on close the duration and close code.
 *
 *     {"level":30,"context":"Connections","event":"ws_open","app":"app-id","protocol":"bus","connectionId":"…","user":"alice","msg":"connection opened"}
 *     {"level":30,"context":"Connections","event":"ws_close","app":"app-id","protocol":"bus","connectionId":"…","user":"alice","durationMs":5120,"code":1000,"msg":"connection closed"}
 */
@Injectable()
export class ConnectionLog implements OnModuleInit, OnModuleDestroy {
  private subscription?: Subscription;

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext('Connections');
  }

  onModuleInit(): void {
    if (!this.logger.logger.isLevelEnabled('info')) return;
    this.subscription = this.registry.events$.subscribe((event) => {
      if (event.type === 'connected') {
        const { connection } = event;
        this.logger.info(
          { event: 'ws_open', app: connection.tenant, protocol: connection.protocol, connectionId: connection.id, user: connection.identity.userId },
          'connection opened',
        );
      } else if (event.type === 'disconnected') {
        const { connection, code } = event;
        this.logger.info(
          {
            event: 'ws_close',
            app: connection.tenant,
            protocol: connection.protocol,
            connectionId: connection.id,
            user: connection.identity.userId,
            durationMs: Date.now() - connection.openedAt,
            code,
          },
          'connection closed',
        );
      }
    });
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }
}
