import type { Connection } from '../connections/connection.js';
import type { ProtocolName } from '../connections/identity.js';
import type { Envelope } from './envelope.js';

/** A complete unmasked WebSocket text frame (header + payload), the same bytes for every recipient. */
export type WireFrame = Buffer;

/** A frame that differs per connection (e.g. RPC `seq`): shared parts are built once, `render` splices. */
export interface PersonalizedFrame {
  render(connection: Connection): string | null;
}

/**
 * A protocol's outbound wire format. `encode` runs once per message per protocol, never per recipient.
 * Returns null when this protocol does not carry the envelope (e.g. a topic client and a tenant-wide cmd).
 */
export interface ProtocolCodec {
  readonly protocol: ProtocolName;
  encode(envelope: Envelope): string | PersonalizedFrame | null;
  /** What to tell a client whose outbox skipped `skipped` messages; null = nothing (the gap shows in seq). */
  lagNotice(skipped: number, connection: Connection): string | null;
  /** How this protocol tells a client to reconnect elsewhere when the node drains. */
  readonly restart: RestartSignal;
}

/** A close code (and optional last frame) that makes the protocol's clients reconnect. */
export interface RestartSignal {
  code: number;
  reason: string;
  notice?: string;
}
