import type { Logger } from '@nestjs/common';
import type { Envelope } from '../broadcast/envelope.js';
import { parseEnvelope } from './envelope.wire.js';

/** Why a broker message was refused. */
export type BrokerRefusal = 'malformed' | 'tenant-mismatch';

/** At most one warning per reason per this many ms (a flood must not flood the log too). */
const WARN_EVERY_MS = 10_000;

/**
 * The one check of a broker message body against where it arrived. The tenant is the one of the
 * channel (Redis) or subject (NATS) the message came on, never the body's word for it: a body whose
 * `tenant` disagrees is refused (counted, logged at warn), like a body that is not an envelope (which
 * includes a `filter` that is not a strictly typed IdentityFilter). Counters are cumulative.
 */
export class BrokerBodyCheck {
  /** Messages on our channels that were not envelopes. */
  malformed = 0;
  /** Envelopes whose body named another tenant than their channel/subject. */
  tenantMismatches = 0;
  private readonly warnedAt: Record<BrokerRefusal, number> = { malformed: 0, 'tenant-mismatch': 0 };

  constructor(private readonly logger: Logger) {}

  /** The envelope for `tenant`, or undefined when the body is refused. */
  accept(tenant: string, text: string): Envelope | undefined {
    const envelope = parseEnvelope(text);
    if (!envelope) {
      this.malformed++;
      this.warn('malformed', `refused a broker message for tenant "${tenant.slice(0, 64)}" that is not an envelope (${this.malformed} so far)`);
      return undefined;
    }
    if (envelope.tenant !== tenant) {
      this.tenantMismatches++;
      this.warn(
        'tenant-mismatch',
        `refused a broker message on tenant "${tenant.slice(0, 64)}"'s channel whose body names tenant "${envelope.tenant.slice(0, 64)}" (${this.tenantMismatches} so far)`,
      );
      return undefined;
    }
    return envelope;
  }

  private warn(reason: BrokerRefusal, message: string): void {
    const now = Date.now();
    if (now - this.warnedAt[reason] < WARN_EVERY_MS) return;
    this.warnedAt[reason] = now;
    this.logger.warn(message);
  }
}
