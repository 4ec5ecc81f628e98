import { Injectable, Optional } from '@nestjs/common';
import type { ProtocolCodec, RestartSignal } from '../broadcast/codec.js';
import type { Envelope } from '../broadcast/envelope.js';
import { DEFAULT_MAX_JSON_DEPTH } from '../common/json.js';
import { HeraldConfig } from '../config/herald-config.js';
import { parseTopicsFrame, TOPIC_LAGGED, topicFrame, type TopicsParse } from './topics.frames.js';

/**
 * `/ws/topics` (RoadRunner): channel messages only, as `{"topic":"<channel>","payload":"<text>"}` where
 * the payload is the published payload when it is a string, otherwise its JSON text (RoadRunner
 * payloads are strings). Tenant- and user-targeted messages and protocol-internal events are not carried.
 */
@Injectable()
export class TopicsCodec implements ProtocolCodec {
  readonly protocol = 'topics' as const;
  readonly restart: RestartSignal = { code: 1012, reason: 'Service restart' };
  /** `HERALD_MAX_JSON_DEPTH`: deeper frames get `#error` before anything could stringify them. */
  private readonly maxJsonDepth: number;

  constructor(@Optional() config?: HeraldConfig) {
    this.maxJsonDepth = config?.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  }

  /** Narrows an inbound frame (see `parseTopicsFrame`). */
  parse(raw: string, maxChannelNameLength: number): TopicsParse {
    return parseTopicsFrame(raw, maxChannelNameLength, this.maxJsonDepth);
  }

  encode(envelope: Envelope): string | null {
    const target = envelope.target;
    if (target.kind !== 'channel' || envelope.origin === 'internal') return null;
    const data = envelope.data;
    return topicFrame(target.channel, typeof data === 'string' ? data : JSON.stringify(data ?? null));
  }

  /** `{"topic":"#lagged","payload":"<n>"}`: this many messages were skipped while the client was slow. */
  lagNotice(skipped: number): string {
    return topicFrame(TOPIC_LAGGED, String(skipped));
  }
}
