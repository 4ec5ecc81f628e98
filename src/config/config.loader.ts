import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import type { z } from 'zod';
import { DEFAULT_MAX_JSON_DEPTH } from '../common/json.js';
import { ConfigInvalidError } from './config.errors.js';
import { appSchema, settingsFileSchema, type SettingsFile } from './config.schema.js';
import type { AppConfig, HeraldSettings } from './herald-config.js';

type Env = Record<string, string | undefined>;

/** The embedded development app: usable out of the box, insecure by design (a warning is logged). */
export const DEV_APP = {
  id: 'app-id',
  key: 'app-key',
  secret: 'app-secret',
  apiKeys: ['app-api-key'],
  jwtAudience: 'broadcaster',
  enableClientMessages: true,
} as const;

const DEFAULTS = {
  port: 6001,
  host: '0.0.0.0',
  logLevel: 'info',
  adapter: 'local',
  redisUrl: 'redis://127.0.0.1:6379',
  natsUrl: 'nats://127.0.0.1:4222',
  clusterPrefix: 'herald',
  nodeHeartbeatMs: 5_000,
  nodeTimeoutMs: 15_000,
  pingIntervalMs: 30_000,
  outboxSize: 128,
  socketHighWaterMark: 64 * 1024,
  connectionBufferBytes: 256 * 1024,
  connectionReplayBytes: 1024 * 1024,
  nodeOutboundBytes: Math.min(256 * 1024 * 1024, Math.floor(totalmem() / 8)),
  historyAppBytes: 64 * 1024 * 1024,
  historyNodeBytes: 256 * 1024 * 1024,
  historyMaxChannels: 100_000,
  eventLoopMonitor: true,
  maxFrameBytes: 64 * 1024,
  maxBodyBytes: 64 * 1024,
  maxJsonDepth: DEFAULT_MAX_JSON_DEPTH,
  tenantBufferSize: 128,
  maxChannelsPerConnection: 128,
  revocationTtlSeconds: 86_400,
  maxTokenLifetimeSeconds: 86_400,
  jwtClockSkewSeconds: 30,
  webhookVacateDelayMs: 3_000,
  authTimeoutMs: 30_000,
  authorizeTimeoutMs: 3_000,
  shutdownGraceMs: 10_000,
  metricsPrefix: 'herald_',
  docsEnabled: false,
  trustedProxies: [] as string[],
  rateLimitWsUpgrades: -1,
  rateLimitWsWindowMs: 60_000,
  rateLimitHttpRequests: -1,
  rateLimitHttpWindowMs: 1_000,
  maxFramesPerSecond: 100,
  maxConnectionsPerIp: 10_000,
  maxPendingHandshakesPerIp: 1_000,
  handshakeTimeoutMs: 10_000,
} as const satisfies Omit<HeraldSettings, 'apps' | 'usingDevDefaults' | 'maxConnections'>;

/** Env variable → settings key, with how to read it. */
const ENV_KEYS = {
  PORT: ['port', 'int'],
  HOST: ['host', 'string'],
  LOG_LEVEL: ['logLevel', 'string'],
  HERALD_ADAPTER: ['adapter', 'string'],
  REDIS_URL: ['redisUrl', 'string'],
  NATS_URL: ['natsUrl', 'string'],
  HERALD_CLUSTER_PREFIX: ['clusterPrefix', 'string'],
  HERALD_NODE_HEARTBEAT_MS: ['nodeHeartbeatMs', 'int'],
  HERALD_NODE_TIMEOUT_MS: ['nodeTimeoutMs', 'int'],
  HERALD_PING_INTERVAL_MS: ['pingIntervalMs', 'int'],
  HERALD_OUTBOX_SIZE: ['outboxSize', 'int'],
  HERALD_SOCKET_HIGH_WATER_MARK: ['socketHighWaterMark', 'int'],
  HERALD_CONNECTION_BUFFER_BYTES: ['connectionBufferBytes', 'int'],
  HERALD_CONNECTION_REPLAY_BYTES: ['connectionReplayBytes', 'int'],
  HERALD_NODE_OUTBOUND_BYTES: ['nodeOutboundBytes', 'int'],
  HERALD_HISTORY_APP_BYTES: ['historyAppBytes', 'int'],
  HERALD_HISTORY_NODE_BYTES: ['historyNodeBytes', 'int'],
  HERALD_HISTORY_MAX_CHANNELS: ['historyMaxChannels', 'int'],
  HERALD_EVENT_LOOP_MONITOR: ['eventLoopMonitor', 'bool'],
  HERALD_MAX_FRAME_BYTES: ['maxFrameBytes', 'int'],
  HERALD_MAX_BODY_BYTES: ['maxBodyBytes', 'int'],
  HERALD_MAX_JSON_DEPTH: ['maxJsonDepth', 'int'],
  HERALD_TENANT_BUFFER_SIZE: ['tenantBufferSize', 'int'],
  HERALD_MAX_CHANNELS_PER_CONNECTION: ['maxChannelsPerConnection', 'int'],
  HERALD_REVOCATION_TTL_SECONDS: ['revocationTtlSeconds', 'int'],
  HERALD_MAX_TOKEN_LIFETIME_SECONDS: ['maxTokenLifetimeSeconds', 'int'],
  HERALD_JWT_CLOCK_SKEW_SECONDS: ['jwtClockSkewSeconds', 'int'],
  HERALD_WEBHOOK_VACATE_DELAY_MS: ['webhookVacateDelayMs', 'int'],
  HERALD_AUTH_TIMEOUT_MS: ['authTimeoutMs', 'int'],
  HERALD_AUTHORIZE_TIMEOUT_MS: ['authorizeTimeoutMs', 'int'],
  HERALD_SHUTDOWN_GRACE_MS: ['shutdownGraceMs', 'int'],
  METRICS_PORT: ['metricsPort', 'int'],
  HERALD_METRICS_PREFIX: ['metricsPrefix', 'string'],
  HERALD_DOCS: ['docsEnabled', 'bool'],
  HERALD_LOG_PRETTY: ['logPretty', 'bool'],
  HERALD_TRUSTED_PROXIES: ['trustedProxies', 'list'],
  HERALD_RATE_LIMIT_WS_UPGRADES: ['rateLimitWsUpgrades', 'int'],
  HERALD_RATE_LIMIT_WS_WINDOW_MS: ['rateLimitWsWindowMs', 'int'],
  HERALD_RATE_LIMIT_HTTP_REQUESTS: ['rateLimitHttpRequests', 'int'],
  HERALD_RATE_LIMIT_HTTP_WINDOW_MS: ['rateLimitHttpWindowMs', 'int'],
  HERALD_MAX_FRAMES_PER_SECOND: ['maxFramesPerSecond', 'int'],
  HERALD_MAX_CONNECTIONS: ['maxConnections', 'int'],
  HERALD_MAX_CONNECTIONS_PER_IP: ['maxConnectionsPerIp', 'int'],
  HERALD_MAX_PENDING_HANDSHAKES_PER_IP: ['maxPendingHandshakesPerIp', 'int'],
  HERALD_HANDSHAKE_TIMEOUT_MS: ['handshakeTimeoutMs', 'int'],
} as const satisfies Record<string, readonly [keyof SettingsFile, 'int' | 'string' | 'bool' | 'list']>;

/** Descriptors kept free for probes, the REST API, brokers and logs when the node is full of WebSockets: 10 %, at least 128. */
export function descriptorReserve(limit: number): number {
  return Math.max(128, Math.ceil(limit * 0.1));
}

/**
 * The default of `maxConnections`: the soft limit on open descriptors (`ulimit -n`, read from
 * `/proc/self/limits`) minus `descriptorReserve`; -1 (no cap) where the limit is unknown or unlimited.
 */
export function defaultMaxConnections(read: (path: string) => string): number {
  let text: string;
  try {
    text = read('/proc/self/limits');
  } catch {
    return -1;
  }
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(text);
  if (!match || match[1] === 'unlimited') return -1;
  const limit = Number(match[1]);
  return Math.max(1, limit - descriptorReserve(limit));
}

function describe(prefix: string, error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    return `${path || '(root)'}: ${issue.message}`;
  });
}

function readFileSettings(env: Env, problems: string[], read: (path: string) => string): Record<string, unknown> {
  const path = env.HERALD_CONFIG;
  if (!path) return {};
  try {
    const parsed: unknown = JSON.parse(read(path));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      problems.push(`HERALD_CONFIG (${path}): must hold a JSON object`);
      return {};
    }
    return parsed as Record<string, unknown>;
  } catch (error) {
    problems.push(`HERALD_CONFIG (${path}): ${(error as Error).message}`);
    return {};
  }
}

function readEnvSettings(env: Env, problems: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, [key, kind]] of Object.entries(ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (kind === 'int') {
      if (!/^-?\d+$/.test(raw.trim())) {
        problems.push(`${name}: expected an integer, got "${raw}"`);
        continue;
      }
      out[key] = Number(raw);
    } else if (kind === 'bool') {
      const value = raw.trim().toLowerCase();
      if (value !== 'true' && value !== 'false' && value !== '1' && value !== '0') {
        problems.push(`${name}: expected true or false, got "${raw}"`);
        continue;
      }
      out[key] = value === 'true' || value === '1';
    } else if (kind === 'list') {
      out[key] = raw.split(',').map((item) => item.trim()).filter(Boolean);
    } else {
      out[key] = raw;
    }
  }
  if (out.logPretty === undefined && env.NODE_ENV === 'development') out.logPretty = true;
  if (env.HERALD_APPS !== undefined && env.HERALD_APPS !== '') {
    try {
      out.apps = JSON.parse(env.HERALD_APPS);
    } catch (error) {
      problems.push(`HERALD_APPS: not valid JSON (${(error as Error).message})`);
    }
  }
  return out;
}

function normalizeApp(app: z.infer<typeof appSchema>): AppConfig {
  const { webhooks, ...rest } = app;
  return {
    ...rest,
    webhooks: webhooks.map((hook) => ({
      url: hook.url,
      eventTypes: hook.eventTypes ?? hook.event_types ?? [],
      filter: hook.filter && {
        channelNameStartsWith: hook.filter.channel_name_starts_with,
        channelNameEndsWith: hook.filter.channel_name_ends_with,
      },
      headers: hook.headers ?? {},
    })),
  };
}

function checkDuplicates(apps: AppConfig[], problems: string[]): void {
  const seen = { id: new Map<string, number>(), key: new Map<string, number>(), apiKey: new Map<string, number>() };
  apps.forEach((app, index) => {
    const note = (kind: keyof typeof seen, value: string, field: string) => {
      const first = seen[kind].get(value);
      if (first !== undefined) problems.push(`apps.${index}.${field}: duplicate of apps.${first} ("${kind === 'apiKey' ? '…' : value}")`);
      else seen[kind].set(value, index);
    };
    note('id', app.id, 'id');
    note('key', app.key, 'key');
    app.apiKeys.forEach((apiKey, k) => note('apiKey', apiKey, `apiKeys.${k}`));
  });
}

/**
 * Loads settings once: defaults ← `HERALD_CONFIG` file ← environment. Every problem is collected
 * and thrown together so an operator fixes them in one go.
 */
export function loadSettings(env: Env = process.env, read = (path: string) => readFileSync(path, 'utf8')): HeraldSettings {
  const problems: string[] = [];
  const merged = { ...readFileSettings(env, problems, read), ...readEnvSettings(env, problems) };
  const parsed = settingsFileSchema.safeParse(merged);
  if (!parsed.success) problems.push(...describe('', parsed.error));
  const file: SettingsFile = parsed.success ? parsed.data : {};

  let apps: AppConfig[] = [];
  const rawApps = merged.apps;
  const usingDevDefaults = rawApps === undefined;
  if (Array.isArray(rawApps)) {
    if (rawApps.length === 0) problems.push('apps: at least one app is required');
    rawApps.forEach((raw, index) => {
      const app = appSchema.safeParse(raw);
      if (app.success) apps.push(normalizeApp(app.data));
      else problems.push(...describe(`apps.${index}`, app.error));
    });
    checkDuplicates(apps, problems);
  } else if (usingDevDefaults) {
    apps = [normalizeApp(appSchema.parse(DEV_APP))];
  }

  if (problems.length > 0) throw new ConfigInvalidError(problems);
  const settings: HeraldSettings = { ...DEFAULTS, maxConnections: file.maxConnections ?? defaultMaxConnections(read), ...file, apps, usingDevDefaults };
  // A denylist entry must outlive every token it can refuse: one issued just before the cut-off lives
  // `maxTokenLifetimeSeconds` and is accepted for `jwtClockSkewSeconds` past its exp.
  settings.revocationTtlSeconds = Math.max(settings.revocationTtlSeconds, settings.maxTokenLifetimeSeconds + settings.jwtClockSkewSeconds);
  return settings;
}
