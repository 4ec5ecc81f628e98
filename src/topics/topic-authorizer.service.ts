import { Injectable, Logger } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { channelAuthorized } from '../channels/channel-name.js';
import { HeraldConfig, type AppConfig } from '../config/herald-config.js';
import type { Identity } from '../connections/identity.js';

/** What `authorizeUrl` receives (POST, JSON). */
export interface TopicAuthorizationRequest {
  app: string;
  user: { id?: string; sessionId?: string; tokenId?: string };
  topics: string[];
  /** The WebSocket upgrade request's headers, as received (lower-case names). */
  headers: IncomingHttpHeaders;
}

/**
 * May this connection join these topics? All or nothing, as in RoadRunner:
 * 1. when the token has `authorizedChannels`, every topic must match one (exact, or trailing `*`);
 * 2. when the app has `authorizeUrl`, it must answer 200 to a POST of {app, user, topics, headers}
 *    within `authorizeTimeoutMs` (HERALD_AUTHORIZE_TIMEOUT_MS, default 3 s); any other status, a network
 *    error or a timeout denies (RoadRunner's PHP-worker model, like Centrifugo's subscribe proxy).
 * With neither, joins are allowed.
 */
@Injectable()
export class TopicAuthorizer {
  private readonly logger = new Logger('TopicAuthorizer');

  constructor(private readonly config: HeraldConfig) {}

  /** Sync when no callback is configured (the common case), so the join is answered in the same turn. */
  allowed(app: AppConfig, identity: Identity, topics: string[], headers: IncomingHttpHeaders): boolean | Promise<boolean> {
    if (identity.authorizedChannels && !topics.every((topic) => channelAuthorized(identity.authorizedChannels, topic))) return false;
    if (!app.authorizeUrl) return true;
    return this.ask(app.authorizeUrl, {
      app: app.id,
      user: {
        ...(identity.userId !== undefined && { id: identity.userId }),
        ...(identity.sessionId !== undefined && { sessionId: identity.sessionId }),
        ...(identity.tokenId !== undefined && { tokenId: identity.tokenId }),
      },
      topics,
      headers,
    });
  }

  private async ask(url: string, body: TopicAuthorizationRequest): Promise<boolean> {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.config.authorizeTimeoutMs),
      });
      // The body is not needed; release the connection.
      await response.body?.cancel();
      return response.status === 200;
    } catch (error) {
      this.logger.warn(`authorizeUrl ${url} failed, join denied: ${(error as Error).message}`);
      return false;
    }
  }
}
