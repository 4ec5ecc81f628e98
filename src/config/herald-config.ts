/** Where a webhook goes and which events it wants (soketi's app schema). */
export interface WebhookConfig {
  url: string;
  eventTypes: string[];
  filter?: { channelNameStartsWith?: string; channelNameEndsWith?: string };
  headers: Record<string, string>;
}

/**
 * One tenant. Field names follow soketi's app schema so a soketi app config works as is;
 * `-1` means unlimited where a limit is a count or a rate.
 */
export interface AppConfig {
  id: string;
  key: string;
  secret: string;
  /** Bearer keys accepted by the REST API for this app. */
  apiKeys: string[];
  /** `aud` a WebSocket JWT must contain. Default `broadcaster`. */
  jwtAudience: string;
  enabled: boolean;
  /** Connections across the cluster; -1 = unlimited. */
  maxConnections: number;
  enableClientMessages: boolean;
  maxClientEventsPerSecond: number;
  maxBackendEventsPerSecond: number;
  maxReadRequestsPerSecond: number;
  maxPresenceMembersPerChannel: number;
  maxPresenceMemberSizeInKb: number;
  maxChannelNameLength: number;
  maxEventNameLength: number;
  maxEventPayloadInKb: number;
  maxEventChannelsAtOnce: number;
  maxEventBatchSize: number;
  enableUserAuthentication: boolean;
  /** Milliseconds a Pusher connection has to sign in when user authentication is on. */
  userAuthenticationTimeout: number;
  enableSubscriptionCount: boolean;
  /** Origins allowed to open WebSockets; empty = any. `*` wildcards allowed. */
  allowedOrigins: string[];
  webhooks: WebhookConfig[];
  /** Messages kept per channel for recovery. Default 128. */
  historySize: number;
  historyTtlSeconds: number;
  /** Optional topic-join authorization callback (RoadRunner worker model). */
  authorizeUrl?: string;
}

export type AdapterKind = 'local' | 'redis' | 'nats';

/** Server-wide settings, loaded once from env and `HERALD_CONFIG` (env wins) and validated. */
export interface HeraldSettings {
  port: number;
  host: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** True when no app was configured and the insecure dev app is in use. */
  usingDevDefaults: boolean;
  apps: AppConfig[];
  adapter: AdapterKind;
  redisUrl: string;
  natsUrl: string;
  /** Prefix of every Redis key and Redis/NATS channel or subject Herald uses; separate clusters sharing a broker need different ones. Default `herald`. */
  clusterPrefix: string;
  /** How often a node announces it is alive (Redis heartbeat, NATS peer announcement). Default 5 000. */
  nodeHeartbeatMs: number;
  /** A node silent this long is dead: its presence members, subscriptions and counts are removed cluster-wide. Default 15 000. */
  nodeTimeoutMs: number;
  /** WebSocket ping frame interval; a peer missing two is terminated. Default 30 000. */
  pingIntervalMs: number;
  /** Broadcast frames a connection that is behind may have queued before the oldest are skipped. Default 128. */
  outboxSize: number;
  /** Socket send-buffer bytes above which the writer stops writing to a socket (it is behind) and frames wait in its outbox; at least the socket's own 16 KiB. Default 64 KiB. */
  socketHighWaterMark: number;
  /** One connection's outbound budget, send buffer + outbox: beyond it a connection that is behind skips its oldest broadcasts, and replies overflowing it close the connection (bus/RPC/topics 1008, Pusher 4100). Default 256 KiB. */
  connectionBufferBytes: number;
  /** Recovery replay bytes one connection may have queued; a recovery that would exceed it answers `recovered:false` and replays nothing. Default 1 MiB. */
  connectionReplayBytes: number;
  /** The node's outbound budget (every outbox + send buffer, a shared frame counted per socket): beyond it the laggiest connections are skipped forward first. Default 1/8 of total memory, at most 256 MiB. */
  nodeOutboundBytes: number;
  /** History bytes (entries as sent) one app may keep on this node; beyond it its oldest entries are dropped. Default 64 MiB. */
  historyAppBytes: number;
  /** History bytes all apps together may keep on this node; beyond it the oldest entries are dropped. Default 256 MiB. */
  historyNodeBytes: number;
  /** Channels with history (streams) this node keeps; beyond it the least recently used stream is forgotten (its clients get `recovered:false`). Default 100 000. */
  historyMaxChannels: number;
  /** Sample the event-loop delay (perf_hooks) and expose its max in /metrics as `<prefix>event_loop_delay_max_seconds`. Default true. */
  eventLoopMonitor: boolean;
  /** Largest inbound WebSocket frame; bigger closes with 1009. Default 64 KiB. */
  maxFrameBytes: number;
  /** Largest REST body; bigger answers 413. Default 64 KiB. */
  maxBodyBytes: number;
  /** Deepest array/object nesting of any JSON frame or body (the whole document); deeper gets the protocol's error. Default 64, at most 1 000. */
  maxJsonDepth: number;
  /** Envelopes kept per tenant in the BroadcastService ring. Default 128. */
  tenantBufferSize: number;
  /** Application channels one connection may be subscribed to at once, every protocol (`#…` internal channels excluded); -1 = no cap. Default 128 (Centrifugo's `client_channel_limit`). */
  maxChannelsPerConnection: number;
  /**
   * How long a revocation keeps blocking older tokens. Never shorter than `maxTokenLifetimeSeconds + jwtClockSkewSeconds`
   * (the loader raises it), so an entry outlives every token it refuses. Default 86 430.
   */
  revocationTtlSeconds: number;
  /** Longest accepted JWT lifetime `exp - iat`; longer-lived tokens are refused. Default 86 400 (one day). */
  maxTokenLifetimeSeconds: number;
  /**
   * Clock difference tolerated with token issuers: `exp`/`nbf` are accepted this far off, `iat` may be this far in the
   * future (no further), and a socket closes this long after its token's `exp`. 0–300. Default 30.
   */
  jwtClockSkewSeconds: number;
  /** Delay of `channel_vacated` / `member_removed` webhooks, dropped when the channel/member comes back meanwhile (Pusher: ~3 s). 0–60 000. Default 3 000. */
  webhookVacateDelayMs: number;
  /** Time a WS client on /ws/rpc has to authenticate. Default 30 000. */
  authTimeoutMs: number;
  /** Time an app's `authorizeUrl` (topic join callback) has to answer before the join is denied. Default 3 000. */
  authorizeTimeoutMs: number;
  /** Upper bound for a graceful drain after SIGTERM. Default 10 000. */
  shutdownGraceMs: number;
  /** Extra port serving only `GET /metrics` (soketi uses 9601); unset = main port only, 0 = any free port. */
  metricsPort?: number;
  /** Human-readable logs instead of JSON lines. Default: on when NODE_ENV=development, or at debug/trace on a TTY. */
  logPretty?: boolean;
  /** Prometheus metric name prefix; `soketi_` makes soketi dashboards work unchanged. Default `herald_`. */
  metricsPrefix: string;
  /** Serve the OpenAPI UI at `/docs` and the document at `/docs-json`. Default false. */
  docsEnabled: boolean;
  /** Proxies (IPs or CIDRs) whose `X-Forwarded-For` is believed when finding the client IP. Default none. */
  trustedProxies: string[];
  /** WebSocket upgrades per client IP per window; -1 = unlimited. Default -1. */
  rateLimitWsUpgrades: number;
  /** Window of `rateLimitWsUpgrades`. Default 60 000. */
  rateLimitWsWindowMs: number;
  /** REST requests per client IP per window (probes and /metrics exempt); -1 = unlimited. Default -1. */
  rateLimitHttpRequests: number;
  /** Window of `rateLimitHttpRequests`. Default 1 000. */
  rateLimitHttpWindowMs: number;
  /** Inbound frames per connection per second on every protocol; -1 = unlimited. Default 100. */
  maxFramesPerSecond: number;
  /**
   * Open WebSockets (plus upgrades in progress) on this node; beyond it upgrades are answered 503 so probes and
   * the REST API keep descriptors. -1 = unlimited. Default: `ulimit -n` minus a reserve of 10 % (at least 128),
   * e.g. 18 000 at 20 000; -1 where the limit is unknown.
   */
  maxConnections: number;
  /** Open WebSockets (plus upgrades in progress) per client IP (as resolved for rate limits); beyond it 429. -1 = unlimited. Default 10 000. */
  maxConnectionsPerIp: number;
  /**
   * TCP connections per peer address that have not yet sent complete request headers; more are closed at accept.
   * Trusted proxies (`HERALD_TRUSTED_PROXIES`) are exempt. -1 = unlimited. Default 1 000.
   */
  maxPendingHandshakesPerIp: number;
  /** Time from TCP accept to complete request headers (an upgrade or a request), and Node's `headersTimeout`. Default 10 000. */
  handshakeTimeoutMs: number;
}

/** DI token and type of the validated settings (an abstract class so it can be injected without a Symbol). */
export abstract class HeraldConfig implements HeraldSettings {
  abstract port: number;
  abstract host: string;
  abstract logLevel: HeraldSettings['logLevel'];
  abstract usingDevDefaults: boolean;
  abstract apps: AppConfig[];
  abstract adapter: AdapterKind;
  abstract redisUrl: string;
  abstract natsUrl: string;
  abstract clusterPrefix: string;
  abstract nodeHeartbeatMs: number;
  abstract nodeTimeoutMs: number;
  abstract pingIntervalMs: number;
  abstract outboxSize: number;
  abstract socketHighWaterMark: number;
  abstract connectionBufferBytes: number;
  abstract connectionReplayBytes: number;
  abstract nodeOutboundBytes: number;
  abstract historyAppBytes: number;
  abstract historyNodeBytes: number;
  abstract historyMaxChannels: number;
  abstract eventLoopMonitor: boolean;
  abstract maxFrameBytes: number;
  abstract maxBodyBytes: number;
  abstract maxJsonDepth: number;
  abstract tenantBufferSize: number;
  abstract maxChannelsPerConnection: number;
  abstract revocationTtlSeconds: number;
  abstract maxTokenLifetimeSeconds: number;
  abstract jwtClockSkewSeconds: number;
  abstract webhookVacateDelayMs: number;
  abstract authTimeoutMs: number;
  abstract authorizeTimeoutMs: number;
  abstract shutdownGraceMs: number;
  abstract metricsPort?: number;
  abstract logPretty?: boolean;
  abstract metricsPrefix: string;
  abstract docsEnabled: boolean;
  abstract trustedProxies: string[];
  abstract rateLimitWsUpgrades: number;
  abstract rateLimitWsWindowMs: number;
  abstract rateLimitHttpRequests: number;
  abstract rateLimitHttpWindowMs: number;
  abstract maxFramesPerSecond: number;
  abstract maxConnections: number;
  abstract maxConnectionsPerIp: number;
  abstract maxPendingHandshakesPerIp: number;
  abstract handshakeTimeoutMs: number;
}
