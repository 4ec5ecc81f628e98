import { isIP } from 'node:net';
import { z } from 'zod';
import { MAX_JSON_DEPTH_SETTING } from '../common/json.js';

const count = z.number().int().min(-1);

/** `10.0.0.1`, `::1`, `10.0.0.0/8`, `fd00::/8`. */
function isIpOrCidr(value: string): boolean {
  const [address, bits, extra] = value.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/** Accepts camelCase (Herald, soketi) and snake_case (soketi webhooks) spellings. */
const webhookSchema = z
  .object({
    url: z.url(),
    event_types: z.array(z.string()).optional(),
    eventTypes: z.array(z.string()).optional(),
    filter: z
      .object({
        channel_name_starts_with: z.string().optional(),
        channel_name_ends_with: z.string().optional(),
      })
      .strict()
      .optional(),
    headers: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export const appSchema = z
  .object({
    id: z.string().min(1),
    key: z.string().min(1),
    secret: z.string().min(1),
    apiKeys: z.array(z.string().min(8)).default([]),
    jwtAudience: z.string().min(1).default('broadcaster'),
    enabled: z.boolean().default(true),
    maxConnections: count.default(-1),
    enableClientMessages: z.boolean().default(false),
    maxClientEventsPerSecond: count.default(10),
    maxBackendEventsPerSecond: count.default(-1),
    maxReadRequestsPerSecond: count.default(-1),
    maxPresenceMembersPerChannel: count.default(100),
    maxPresenceMemberSizeInKb: z.number().positive().default(2),
    maxChannelNameLength: z.number().int().positive().default(200),
    maxEventNameLength: z.number().int().positive().default(200),
    maxEventPayloadInKb: z.number().positive().default(10),
    maxEventChannelsAtOnce: z.number().int().positive().default(100),
    maxEventBatchSize: z.number().int().positive().default(10),
    enableUserAuthentication: z.boolean().default(false),
    userAuthenticationTimeout: z.number().int().positive().default(30_000),
    enableSubscriptionCount: z.boolean().default(false),
    allowedOrigins: z.array(z.string()).default([]),
    webhooks: z.array(webhookSchema).default([]),
    historySize: z.number().int().min(0).default(128),
    historyTtlSeconds: z.number().int().min(0).default(300),
    authorizeUrl: z.url().optional(),
  })
  .strict();

export const settingsFileSchema = z
  .object({
    port: z.number().int().min(1).max(65535).optional(),
    host: z.string().min(1).optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).optional(),
    apps: z.array(z.unknown()).optional(),
    adapter: z.enum(['local', 'redis', 'nats']).optional(),
    redisUrl: z.string().optional(),
    natsUrl: z.string().optional(),
    clusterPrefix: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only (it is a NATS subject token)').optional(),
    nodeHeartbeatMs: z.number().int().min(50).optional(),
    nodeTimeoutMs: z.number().int().min(150).optional(),
    pingIntervalMs: z.number().int().positive().optional(),
    outboxSize: z.number().int().min(1).optional(),
    socketHighWaterMark: z.number().int().min(1024).optional(),
    connectionBufferBytes: z.number().int().min(4096).optional(),
    connectionReplayBytes: z.number().int().min(0).optional(),
    nodeOutboundBytes: z.number().int().min(65536).optional(),
    historyAppBytes: z.number().int().min(0).optional(),
    historyNodeBytes: z.number().int().min(0).optional(),
    historyMaxChannels: z.number().int().min(1).optional(),
    eventLoopMonitor: z.boolean().optional(),
    maxFrameBytes: z.number().int().min(256).optional(),
    maxBodyBytes: z.number().int().min(256).optional(),
    maxJsonDepth: z.number().int().min(8).max(MAX_JSON_DEPTH_SETTING).optional(),
    tenantBufferSize: z.number().int().min(1).optional(),
    maxChannelsPerConnection: z.number().int().min(-1).optional(),
    revocationTtlSeconds: z.number().int().positive().optional(),
    maxTokenLifetimeSeconds: z.number().int().positive().optional(),
    jwtClockSkewSeconds: z.number().int().min(0).max(300).optional(),
    webhookVacateDelayMs: z.number().int().min(0).max(60_000).optional(),
    authTimeoutMs: z.number().int().positive().optional(),
    authorizeTimeoutMs: z.number().int().positive().optional(),
    shutdownGraceMs: z.number().int().positive().optional(),
    metricsPort: z.number().int().min(0).max(65535).optional(),
    metricsPrefix: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'must be a valid Prometheus name prefix').optional(),
    docsEnabled: z.boolean().optional(),
    logPretty: z.boolean().optional(),
    trustedProxies: z.array(z.string().refine(isIpOrCidr, 'must be an IP address or CIDR')).optional(),
    rateLimitWsUpgrades: count.optional(),
    rateLimitWsWindowMs: z.number().int().positive().optional(),
    rateLimitHttpRequests: count.optional(),
    rateLimitHttpWindowMs: z.number().int().positive().optional(),
    maxFramesPerSecond: count.optional(),
    maxConnections: count.optional(),
    maxConnectionsPerIp: count.optional(),
    maxPendingHandshakesPerIp: count.optional(),
    handshakeTimeoutMs: z.number().int().min(100).optional(),
  })
  .strict();

export type SettingsFile = z.infer<typeof settingsFileSchema>;
