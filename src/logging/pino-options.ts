import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { stdTimeFunctions } from 'pino';
import type { Options } from 'pino-http';
import type { HeraldSettings } from '../config/herald-config.js';
import { REDACT_PATHS, redactUrl } from './log-redaction.js';

/** A caller-supplied `X-Request-Id` is kept when it is a sane token (a proxy's correlation id). */
const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Probes and scrapes would drown everything else. */
const QUIET = /^\/(health|metrics)(\/|\?|$)/;

/** Finds a module like the app's own imports do; throws when it is not installed. */
export type ModuleResolver = (name: string) => string;

const resolveFromHere: ModuleResolver = (name) => createRequire(import.meta.url).resolve(name);

/** How log lines are printed; `warning` says why pretty output that was asked for is not used. */
export interface LogFormat {
  pretty: boolean;
  warning?: string;
}

/**
 * Pretty when asked (`HERALD_LOG_PRETTY`, `NODE_ENV=development`), or at debug/trace on a terminal, and only
 * if `pino-pretty` resolves: it is a dev dependency, absent from the production image (`npm ci --omit=dev`),
 * where asking for it must not crash the node. Then logs stay JSON; an explicit request gets a warning.
 */
export function logFormat(
  settings: Pick<HeraldSettings, 'logPretty' | 'logLevel'>,
  { isTty = process.stdout.isTTY === true, resolve = resolveFromHere }: { isTty?: boolean; resolve?: ModuleResolver } = {},
): LogFormat {
  const wanted = settings.logPretty ?? ((settings.logLevel === 'debug' || settings.logLevel === 'trace') && isTty);
  if (!wanted) return { pretty: false };
  try {
    resolve('pino-pretty');
    return { pretty: true };
  } catch {
    if (settings.logPretty !== true) return { pretty: false };
    return { pretty: false, warning: 'Pretty logs were asked for (HERALD_LOG_PRETTY or NODE_ENV=development) but pino-pretty, a dev dependency, is not installed: logging JSON' };
  }
}

interface SerializedRequest {
  id?: unknown;
  method?: string;
  url?: string;
  remoteAddress?: string;
}

/**
 * pino-http options: JSON lines with ISO times, one line per REST request (with its request id, also
 * answered as `X-Request-Id`), no headers logged, credentials in query strings redacted.
 */
export function pinoHttpOptions(settings: HeraldSettings, pretty: boolean): Options<IncomingMessage, ServerResponse> {
  return {
    level: settings.logLevel,
    timestamp: stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(pretty && { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }),
    genReqId(request, response) {
      const given = request.headers['x-request-id'];
      const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      response.setHeader('X-Request-Id', id);
      return id;
    },
    serializers: {
      req: (request: SerializedRequest) => ({ id: request.id, method: request.method, url: redactUrl(request.url), remoteAddress: request.remoteAddress }),
      res: (response: { statusCode?: number }) => ({ statusCode: response.statusCode }),
    },
    autoLogging: { ignore: (request) => QUIET.test(request.url ?? '') },
    customLogLevel: (_request, response, error) => (error || response.statusCode >= 500 ? 'error' : response.statusCode >= 400 ? 'warn' : 'info'),
    quietReqLogger: true,
  };
}
