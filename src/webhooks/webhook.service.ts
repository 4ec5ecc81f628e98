import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { AppConfig, WebhookConfig } from '../config/herald-config.js';
import { WEBHOOK_OPTIONS, type WebhookEvent, type WebhookOptions } from './webhook.events.js';
import { WebhookSender } from './webhook.sender.js';

function wants(hook: WebhookConfig, event: WebhookEvent): boolean {
  if (!hook.eventTypes.includes(event.name)) return false;
  const filter = hook.filter;
  if (filter?.channelNameStartsWith !== undefined && !event.channel.startsWith(filter.channelNameStartsWith)) return false;
  if (filter?.channelNameEndsWith !== undefined && !event.channel.endsWith(filter.channelNameEndsWith)) return false;
  return true;
}

/**
 * What features call: routes an event to the app's webhooks that want it (event type + channel
 * name filter) and hands it to the sender's queues. `emitLater` implements the vacate delay:
 * `channel_vacated` / `member_removed` wait, and are dropped if `cancel(key)` is called (the channel
 * or member came back) or `stillTrue()` says otherwise when the delay ends.
 */
@Injectable()
export class WebhookService implements OnModuleDestroy {
  private readonly delayed = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly sender: WebhookSender,
    @Inject(WEBHOOK_OPTIONS) private readonly options: WebhookOptions,
  ) {}

  onModuleDestroy(): void {
    for (const timer of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
  }

  /** Whether anything would be sent for this event type (lets callers skip work). */
  enabled(app: AppConfig, name: WebhookEvent['name']): boolean {
    return app.webhooks.some((hook) => hook.eventTypes.includes(name));
  }

  emit(app: AppConfig, event: WebhookEvent): void {
    for (const hook of app.webhooks) if (wants(hook, event)) this.sender.enqueue(app, hook, event);
  }

  /** Emits after the vacate delay unless cancelled under `key`, or `stillTrue` resolves false then. */
  emitLater(app: AppConfig, event: WebhookEvent, key: string, stillTrue: () => Promise<boolean>): void {
    if (!this.enabled(app, event.name)) return;
    clearTimeout(this.delayed.get(key));
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      void stillTrue().then(
        (yes) => yes && this.emit(app, event),
        () => undefined,
      );
    }, this.options.vacateDelayMs);
    this.delayed.set(key, timer);
  }

  /** Cancels a delayed event; true when one was pending (then the opposite event is not sent either). */
  cancel(key: string): boolean {
    const timer = this.delayed.get(key);
    if (!timer) return false;
    clearTimeout(timer);
    this.delayed.delete(key);
    return true;
  }
}
