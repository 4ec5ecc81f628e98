import { Injectable, Logger } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { HeraldConfig, type AppConfig } from '../config/herald-config.js';
import type { Identity } from '../connections/identity.js';
import { channelAccess, type ChannelAction, type GrantProtocol } from './channel-policy.js';

/** What `authorizeUrl` receives (POST, JSON). `topics` are the channels asked for. */
export interface ChannelAuthorizationRequest {
  app: string;
  user: { id?: string; sessionId?: string; tokenId?: string };
  topics: string[];
  /** The WebSocket upgrade request's headers, as received (lower-case names). */
  headers: IncomingHttpHeaders;
}

/**
 * Applies the channel policy ({@link channelAccess}) for the JWT protocols and asks the app's
 * `authorizeUrl` when it must: it must answer 200 to a POST of {app, user, topics, headers} within
 * `authorizeTimeoutMs` (HERALD_AUTHORIZE_TIMEOUT_MS, default 3 s); any other status, a network error
 * or a timeout denies (RoadRunner's PHP-worker model, like Centrifugo's subscribe proxy). All or
 * nothing: one refused channel refuses the request.
 */
@Injectable()
export class ChannelAuthorizer {
  private readonly logger = new Logger('ChannelAuthorizer');

  constructor(private readonly config: HeraldConfig) {}

  /**
   * Sync when the callback need not be asked (the common case), so the request is answered in the
   * same turn. `alwaysAsk`: ask a configured callback even when the token allows (topics, as RoadRunner).
   */
  authorize(
    protocol: GrantProtocol,
    action: ChannelAction,
    app: AppConfig,
    identity: Identity,
    channels: string[],
    headers: IncomingHttpHeaders,
    alwaysAsk = false,
  ): boolean | Promise<boolean> {
    const hasCallback = action === 'subscribe' && app.authorizeUrl !== undefined;
    let ask = alwaysAsk && hasCallback;
    for (const channel of channels) {
      const verdict = channelAccess(protocol, action, identity.authorizedChannels, channel, hasCallback);
      if (verdict === 'deny') return false;
      if (verdict === 'ask') ask = true;
    }
    if (!ask || app.authorizeUrl === undefined) return true;
    return this.ask(app.authorizeUrl, {
      app: app.id,
      user: {
        ...(identity.userId !== undefined && { id: identity.userId }),
        ...(identity.sessionId !== undefined && { sessionId: identity.sessionId }),
        ...(identity.tokenId !== undefined && { tokenId: identity.tokenId }),
      },
      topics: channels,
      headers,
    });
  }

  private async ask(url: string, body: ChannelAuthorizationRequest): Promise<boolean> {
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
      this.logger.warn(`authorizeUrl ${url} failed, access denied: ${(error as Error).message}`);
      return false;
    }
  }
}
