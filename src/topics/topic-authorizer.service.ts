import { Injectable } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { ChannelAuthorizer } from '../channels/channel-authorizer.service.js';
import type { AppConfig } from '../config/herald-config.js';
import type { Identity } from '../connections/identity.js';

export type { ChannelAuthorizationRequest as TopicAuthorizationRequest } from '../channels/channel-authorizer.service.js';

/**
 * May this connection join these topics? All or nothing, as in RoadRunner, by the one channel policy
 * (`channels/channel-policy.ts`):
 * 1. when the token has `authorizedChannels`, every topic must match one (exact, or trailing `*`);
 *    `private-*`, `private-encrypted-*`, `presence-*` topics need an entry that names them (never a bare `*`);
 * 2. when the app has `authorizeUrl`, it must answer 200 (asked for every join);
 * 3. with neither, public topics are allowed and restricted ones refused.
 */
@Injectable()
export class TopicAuthorizer {
  constructor(private readonly channels: ChannelAuthorizer) {}

  /** Sync when no callback is configured (the common case), so the join is answered in the same turn. */
  allowed(app: AppConfig, identity: Identity, topics: string[], headers: IncomingHttpHeaders): boolean | Promise<boolean> {
    return this.channels.authorize('topics', 'subscribe', app, identity, topics, headers, true);
  }
}
