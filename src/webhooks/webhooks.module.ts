import { Module } from '@nestjs/common';
import { DEFAULT_WEBHOOK_OPTIONS, WEBHOOK_OPTIONS } from './webhook.events.js';
import { WebhookSender } from './webhook.sender.js';
import { WebhookService } from './webhook.service.js';

/** Pusher-style webhooks: per-app queues, batching, retries with back-off, the vacate delay. */
@Module({
  providers: [{ provide: WEBHOOK_OPTIONS, useValue: DEFAULT_WEBHOOK_OPTIONS }, WebhookSender, WebhookService],
  exports: [WebhookService, WebhookSender],
})
export class WebhooksModule {}
