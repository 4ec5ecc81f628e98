import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { AuthGuard, CurrentApp } from '../auth/auth.guard.js';
import { BroadcastService } from '../broadcast/broadcast.service.js';
import { parseInput } from '../common/validation.js';
import type { AppConfig } from '../config/herald-config.js';
import { ConnectionRegistry } from '../connections/connection-registry.service.js';
import { AppRateLimits } from '../limits/app-rate-limits.service.js';
import { sendMessageSchema, targetOf } from './messages.dto.js';

/** Backend publishing and presence queries for the API key's app. */
@Controller('api')
@UseGuards(AuthGuard)
export class MessagesController {
  constructor(
    private readonly broadcast: BroadcastService,
    private readonly registry: ConnectionRegistry,
    private readonly limits: AppRateLimits,
  ) {}

  /** Accepted (202) once the cluster transport took it; delivery is asynchronous. */
  @Post('messages')
  @HttpCode(202)
  async send(@CurrentApp() app: AppConfig, @Body() body: unknown): Promise<{ id: string; createTime: string }> {
    const message = parseInput(sendMessageSchema, body);
    await this.limits.takeBackendEvents(app);
    const envelope = await this.broadcast.publish({
      tenant: app.id,
      target: targetOf(message.to),
      event: message.cmd,
      data: message.data,
      origin: 'rest',
    });
    return { id: envelope.id, createTime: envelope.createTime };
  }

  @Get('connections')
  connections(@CurrentApp() app: AppConfig): { connections: number; users: number } {
    return { connections: this.registry.connectionCount(app.id), users: this.registry.userCount(app.id) };
  }

  @Get('users/:userId')
  user(@CurrentApp() app: AppConfig, @Param('userId') userId: string): { online: boolean; connections: number } {
    const connections = this.registry.userConnectionCount(app.id, userId);
    return { online: connections > 0, connections };
  }
}
