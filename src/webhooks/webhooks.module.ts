import { Module } from '@nestjs/common';
import { HeraldConfig } from '../config/herald-config.js';
import { DEFAULT_WEBHOOK_OPTIONS, WEBHOOK_OPTIONS } from './webhook.events.js';
import { WebhookSender } from './webhook.sender.js';
import { WebhookService } from './webhook.service.js';

/** Pusher-style webhooks: per-app queues, batching, retries with back-off, the vacate delay. */
@Module({
  providers: [
    {
      provide: WEBHOOK_OPTIONS,
      useFactory: (config: HeraldConfig) => ({ ...DEFAULT_WEBHOOK_OPTIONS, vacateDelayMs: config.webhookVacateDelayMs }),
      inject: [HeraldConfig],
    },
    WebhookSender,
    WebhookService,
  ],
  exports: [WebhookService, WebhookSender],
})
export class WebhooksModule {}
