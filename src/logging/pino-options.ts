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

/** Pretty output needs the optional `pino-pretty` (a dev dependency): never crash a production image over it. */
function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/** Pretty when asked (`HERALD_LOG_PRETTY`, `NODE_ENV=development`), or at debug/trace on a terminal. */
export function wantsPretty(settings: Pick<HeraldSettings, 'logPretty' | 'logLevel'>, isTty = process.stdout.isTTY === true): boolean {
  const wanted = settings.logPretty ?? ((settings.logLevel === 'debug' || settings.logLevel === 'trace') && isTty);
  return wanted && prettyAvailable();
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
