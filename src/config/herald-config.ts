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
  /** Messages a lagging connection may have queued before the oldest are skipped. Default 128. */
  outboxSize: number;
  /** Socket send-buffer bytes above which frames wait in the outbox. Default 1 MiB. */
  socketHighWaterMark: number;
  /** Largest inbound WebSocket frame; bigger closes with 1009. Default 64 KiB. */
  maxFrameBytes: number;
  /** Largest REST body; bigger answers 413. Default 64 KiB. */
  maxBodyBytes: number;
  /** Envelopes kept per tenant in the BroadcastService ring. Default 128. */
  tenantBufferSize: number;
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
  abstract maxFrameBytes: number;
  abstract maxBodyBytes: number;
  abstract tenantBufferSize: number;
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
}
