import { Injectable, Optional } from '@nestjs/common';
import type { ProtocolCodec, RestartSignal } from '../broadcast/codec.js';
import type { Envelope } from '../broadcast/envelope.js';
import { randomId } from '../common/ids.js';
import { DEFAULT_MAX_JSON_DEPTH, parseJson } from '../common/json.js';
import { HeraldConfig } from '../config/herald-config.js';
import { BUS_LAGGED_CMD, type BusFrame, type BusFrameParse } from './bus.frames.js';

export function busFrame(id: string | null, cmd: string, data: unknown): string {
  return `{"id":${JSON.stringify(id)},"cmd":${JSON.stringify(cmd)},"data":${JSON.stringify(data ?? null)}}`;
}

/** The bus wire format: `{id, cmd, data}` JSON text frames. */
@Injectable()
export class BusCodec implements ProtocolCodec {
  readonly protocol = 'bus' as const;
  /** 1012 "service restart": the Cloudillo client reconnects (it only stops on 1008 and 4xxx). */
  readonly restart: RestartSignal = { code: 1012, reason: 'Service restart' };
  /** `HERALD_MAX_JSON_DEPTH`: deeper frames are refused before anything could stringify them. */
  private readonly maxJsonDepth: number;

  constructor(@Optional() config?: HeraldConfig) {
    this.maxJsonDepth = config?.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  }

  /** Every target reaches bus clients; a channel message only reaches those subscribed to it. */
  encode(envelope: Envelope): string {
    return busFrame(envelope.id, envelope.event, envelope.data);
  }

  lagNotice(skipped: number): string {
    return busFrame(randomId(), BUS_LAGGED_CMD, { skipped });
  }

  ack(id: string, status: 'ok' | 'pong'): string {
    return busFrame(id, 'ack', { status });
  }

  error(id: string | null, message: string, code: 'invalid_message' | 'rate_limited' = 'invalid_message'): string {
    return busFrame(id, 'error', { code, message });
  }

  /** Narrows untrusted input; says exactly what was wrong and echoes the id when readable. */
  parse(raw: string): BusFrameParse {
    const parsed = parseJson(raw, { maxDepth: this.maxJsonDepth });
    if (!parsed.ok) {
      if (parsed.problem === 'invalid') return { ok: false, id: null, message: 'frame is not valid JSON' };
      const id = parsed.scalars?.id;
      return { ok: false, id: typeof id === 'string' ? id : null, message: `frame ${parsed.message}` };
    }
    const value = parsed.value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { ok: false, id: null, message: 'frame must be a JSON object {id, cmd, data}' };
    }
    const candidate = value as Record<string, unknown>;
    const id = typeof candidate.id === 'string' ? candidate.id : null;
    if (typeof candidate.id !== 'string') return { ok: false, id, message: '"id" must be a string' };
    if (typeof candidate.cmd !== 'string' || candidate.cmd === '') return { ok: false, id, message: '"cmd" must be a non-empty string' };
    if (!('data' in candidate)) return { ok: false, id, message: '"data" is required' };
    const frame: BusFrame = { id: candidate.id, cmd: candidate.cmd, data: candidate.data };
    return { ok: true, frame };
  }
}
