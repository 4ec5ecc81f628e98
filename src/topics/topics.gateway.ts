import { Logger } from '@nestjs/common';
import { WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import { SocketAuthenticator } from '../auth/socket-authenticator.service.js';
import type { AppConfig } from '../config/herald-config.js';
import type { Connection } from '../connections/connection.js';
import { ConnectionLifecycle } from '../connections/connection-lifecycle.service.js';
import { ConnectionRegistry } from '../connections/connection-registry.service.js';
import { LifecycleState } from '../health/lifecycle-state.service.js';
import { FrameRateLimiter, type FrameBudget } from '../limits/frame-rate-limiter.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ErrorBoundary } from '../common/error-boundary.js';
import { channelRoom } from '../channels/channel-policy.js';
import { HeraldConfig } from '../config/herald-config.js';
import { InboundFrames } from '../ws/inbound-frames.js';
import { rawText } from '../rpc/rpc-sockets.service.js';
import { closeReason } from '../common/close-reason.js';
import { TopicAuthorizer } from './topic-authorizer.service.js';
import { TopicsCodec } from './topics.codec.js';
import {
  parseTopicsFrame,
  TOPIC_ERROR,
  TOPIC_JOIN_DENIED,
  TOPIC_JOINED,
  TOPIC_LEAVE_FAILED,
  TOPIC_LEFT,
  topicFrame,
  type TopicsCommand,
} from './topics.frames.js';

/** Frames a connection may have waiting behind a join that asks `authorizeUrl`. */
const MAX_BACKLOG = 256;

interface TopicsSession {
  readonly app: AppConfig;
  readonly headers: IncomingHttpHeaders;
  busy: boolean;
  readonly backlog: TopicsCommand[];
}

type TopicsConnection = Connection<TopicsSession>;

/**
 * `/ws/topics`: RoadRunner's websockets protocol. JWT at the upgrade as on `/ws/bus` (4401 / 4404);
 * `join` answers `@join` (all topics joined) or `#join` (none joined, socket stays open), `leave`
 * answers `@leave` (`#leave` for malformed topics), `headers` is accepted and ignored, anything else
 * gets `{"topic":"#error","payload":"<what was wrong>"}`. Frames are handled in order per connection.
 */
@WebSocketGateway({ path: '/ws/topics' })
export class TopicsGateway implements OnGatewayConnection {
  private readonly logger = new Logger('TopicsGateway');

  constructor(
    private readonly auth: SocketAuthenticator,
    private readonly lifecycle: ConnectionLifecycle,
    private readonly registry: ConnectionRegistry,
    private readonly codec: TopicsCodec,
    private readonly authorizer: TopicAuthorizer,
    private readonly state: LifecycleState,
    private readonly metrics: MetricsService,
    private readonly frameLimiter: FrameRateLimiter,
    private readonly inbound: InboundFrames,
    private readonly boundary: ErrorBoundary,
    private readonly config: HeraldConfig,
  ) {}

  /** Nest calls this from an RxJS subscriber, which would rethrow asynchronously: nothing may escape it. */
  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    try {
      this.accept(socket, request);
    } catch (error) {
      this.boundary.report('upgrade', error, 'topics handshake');
      socket.close(1011, closeReason('Internal error'));
    }
  }

  private accept(socket: WebSocket, request: IncomingMessage): void {
    if (!this.state.acceptingConnections) {
      socket.close(this.codec.restart.code, closeReason(this.codec.restart.reason));
      return;
    }
    const authenticated = this.auth.authenticateOrClose(socket, request);
    if (!authenticated) return;
    const session: TopicsSession = { app: authenticated.app, headers: request.headers, busy: false, backlog: [] };
    const connection = this.lifecycle.attach({ socket, identity: authenticated.token.identity, protocol: 'topics', codec: this.codec, session });
    const budget = this.frameLimiter.budget(connection);
    this.inbound.bind(socket, (data: RawData, isBinary: boolean) => this.onFrame(connection, budget, data, isBinary));
  }

  private onFrame(connection: TopicsConnection, budget: FrameBudget, data: RawData, isBinary: boolean): void {
    this.metrics.frameReceived(connection, data);
    const verdict = budget.take();
    if (verdict !== 'ok') {
      if (verdict === 'limited') connection.sendText(topicFrame(TOPIC_ERROR, 'too many frames per second; slow down'));
      else connection.close(1008, 'Too many frames');
      return;
    }
    if (isBinary) {
      connection.sendText(topicFrame(TOPIC_ERROR, 'binary frames are not supported; send JSON text'));
      return;
    }
    const session = connection.session;
    const parsed = this.codec.parse(rawText(data), session.app.maxChannelNameLength);
    if (!parsed.ok) {
      if (parsed.command === null) connection.sendText(topicFrame(TOPIC_ERROR, parsed.message));
      else connection.sendText(topicFrame(parsed.command === 'join' ? TOPIC_JOIN_DENIED : TOPIC_LEAVE_FAILED, parsed.topics));
      return;
    }
    if (session.busy) {
      if (session.backlog.length >= MAX_BACKLOG) connection.sendText(topicFrame(TOPIC_ERROR, 'too many frames waiting; slow down'));
      else session.backlog.push(parsed.frame);
      return;
    }
    this.run(connection, parsed.frame);
  }

  private run(connection: TopicsConnection, frame: TopicsCommand): void {
    switch (frame.command) {
      case 'join':
        this.join(connection, frame.topics);
        return;
      case 'leave':
        for (const topic of frame.topics) this.registry.unsubscribe(connection, topic);
        connection.sendText(topicFrame(TOPIC_LEFT, frame.topics));
        return;
      case 'headers':
        // RoadRunner accepts it as a no-op; so does Herald (documented).
        return;
      default: {
        const unreachable: never = frame;
        throw new Error(`unknown command ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private join(connection: TopicsConnection, topics: string[]): void {
    const session = connection.session;
    // All or nothing, as the join itself: over the per-connection channel cap, none is joined.
    if (!channelRoom(connection.channels, topics, this.config.maxChannelsPerConnection)) {
      connection.sendText(topicFrame(TOPIC_JOIN_DENIED, topics));
      return;
    }
    const verdict = this.authorizer.allowed(session.app, connection.identity, topics, session.headers);
    if (typeof verdict === 'boolean') {
      this.finishJoin(connection, topics, verdict);
      return;
    }
    session.busy = true;
    verdict
      .then(
        (allowed) => this.finishJoin(connection, topics, allowed),
        (error: unknown) => {
          this.logger.error(`join authorization failed: ${String(error)}`);
          this.finishJoin(connection, topics, false);
        },
      )
      .finally(() => {
        session.busy = false;
        while (!session.busy && session.backlog.length > 0 && !connection.closed) this.run(connection, session.backlog.shift() as TopicsCommand);
      })
      .catch((error: unknown) => {
        // A frame handled after the authorization answer threw: the same boundary as a frame handled directly.
        this.boundary.report('frame', error, 'topics join');
        connection.close(1011, 'Internal error');
      });
  }

  /** Subscribes before answering, so every message published after `@join` is delivered. */
  private finishJoin(connection: TopicsConnection, topics: string[], allowed: boolean): void {
    if (connection.closed) return;
    if (!allowed) {
      connection.sendText(topicFrame(TOPIC_JOIN_DENIED, topics));
      return;
    }
    for (const topic of topics) this.registry.subscribe(connection, topic);
    connection.sendText(topicFrame(TOPIC_JOINED, topics));
  }
}
