import { Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { HeraldConfig, type AppConfig } from './herald-config.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Looks up tenants by id, public key or REST API key. */
@Injectable()
export class AppRegistry {
  private readonly byId = new Map<string, AppConfig>();
  private readonly byKey = new Map<string, AppConfig>();
  private readonly apiKeyDigests: { digest: Buffer; app: AppConfig }[] = [];

  constructor(config: HeraldConfig) {
    for (const app of config.apps) {
      this.byId.set(app.id, app);
      this.byKey.set(app.key, app);
      for (const apiKey of app.apiKeys) this.apiKeyDigests.push({ digest: digest(apiKey), app });
    }
  }

  all(): AppConfig[] {
    return [...this.byId.values()];
  }

  findById(id: string): AppConfig | undefined {
    return this.byId.get(id);
  }

  findByKey(key: string): AppConfig | undefined {
    return this.byKey.get(key);
  }

  /** The app for a WS connection: `?app=<key>`, or the only app when exactly one is configured. */
  resolveForSocket(appKey: string | null): AppConfig | undefined {
    if (appKey) return this.byKey.get(appKey);
    return this.byId.size === 1 ? this.byId.values().next().value : undefined;
  }

  /**
   * Constant-time over every configured key: digests have equal length, and every entry is compared
   * whatever matched, so timing reveals neither the key nor how many apps there are before it.
   */
  findByApiKey(presented: string): AppConfig | undefined {
    const candidate = digest(presented);
    let found: AppConfig | undefined;
    for (const entry of this.apiKeyDigests) {
      if (timingSafeEqual(entry.digest, candidate) && !found) found = entry.app;
    }
    return found;
  }
}
