import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ErrorBoundary } from '../common/error-boundary.js';
import { Subject, takeUntil } from 'rxjs';
import { defaultIssuedBefore, RevocationService, type RevocationKind } from '../auth/revocation.service.js';
import { BroadcastService } from '../broadcast/broadcast.service.js';
import type { Envelope, Target } from '../broadcast/envelope.js';
import { ClusterNode } from '../cluster/cluster-node.js';
import { CLUSTER_STATS, type ClusterStats } from '../cluster/cluster-stats.js';
import { randomId } from '../common/ids.js';
import { ConnectionRegistry } from './connection-registry.service.js';

/** fuz_app's revocation close: the client treats it as final and does not reconnect. */
export const CLOSE_SESSION_REVOKED = 4001;
export const SESSION_REVOKED_REASON = 'Session revoked';

/** Control envelope carrying a revocation to every node (no recipients; each node acts on it). */
export const REVOKE_EVENT = 'herald_internal:revoke';
/** Control envelope by which each node reports how many sockets a revocation closed there. */
export const REVOKED_EVENT = 'herald_internal:revoked';

/** How long a revocation waits for the other nodes' counts before answering with those it has. */
const TALLY_TIMEOUT_MS = 1_000;

/** `data` of a `REVOKE_EVENT` envelope. */
export interface RevocationNotice {
  kind: RevocationKind;
  id: string;
  /** The cut-off (`issuedBefore`), Unix seconds: tokens with an `iat` below it are refused. */
  at: number;
  /**
   * The cut-off was given by the caller: only sockets whose token was issued before it close. Absent (the
   * default cut-off, or a notice from an older node): every matching socket closes.
   */
  explicit?: true;
  /** Names this revocation in the nodes' reports (absent from notices of older nodes). */
  notice?: string;
}

interface Tally {
  closed: number;
  reported: Set<string>;
  expected: number;
  done: () => void;
}

export function parseRevocationNotice(envelope: Envelope): RevocationNotice | undefined {
  if (envelope.event !== REVOKE_EVENT || envelope.origin !== 'internal') return undefined;
  const data = envelope.data as Partial<RevocationNotice> | null;
  if (typeof data !== 'object' || data === null || typeof data.id !== 'string' || typeof data.at !== 'number') return undefined;
  if (data.kind !== 'user' && data.kind !== 'session' && data.kind !== 'token') return undefined;
  return {
    kind: data.kind,
    id: data.id,
    at: data.at,
    ...(data.explicit === true && { explicit: true as const }),
    ...(typeof data.notice === 'string' && { notice: data.notice }),
  };
}

function parseReport(envelope: Envelope): { notice: string; node: string; closed: number } | undefined {
  if (envelope.event !== REVOKED_EVENT || envelope.origin !== 'internal') return undefined;
  const data = envelope.data as { notice?: unknown; node?: unknown; closed?: unknown } | null;
  if (typeof data !== 'object' || data === null || typeof data.notice !== 'string' || typeof data.node !== 'string' || typeof data.closed !== 'number') return undefined;
  return { notice: data.notice, node: data.node, closed: data.closed };
}

/**
 * Revokes a session, user or API token: denylists it and closes exactly the matching sockets, on this
 * node at once and on every other node through a control envelope over the cluster transport. Each
 * node answers with a report envelope of how many it closed, so the caller learns the cluster's total.
 */
@Injectable()
export class ConnectionRevoker implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Revocation');
  private readonly destroy$ = new Subject<void>();
  private readonly tallies = new Map<string, Tally>();

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly revocations: RevocationService,
    private readonly broadcast: BroadcastService,
    private readonly node: ClusterNode,
    @Inject(CLUSTER_STATS) private readonly stats: ClusterStats,
    private readonly boundary: ErrorBoundary,
  ) {}

  onModuleInit(): void {
    this.broadcast
      .everyTenant()
      .pipe(takeUntil(this.destroy$))
      .subscribe(
        this.boundary.guard('subscriber', (envelope: Envelope) => this.onControl(envelope), 'revocation listener'),
      );
  }

  /** A revocation notice or a close report from any node (the control stream). */
  private onControl(envelope: Envelope): void {
    const report = parseReport(envelope);
    if (report) {
      this.count(report);
      return;
    }
    const notice = parseRevocationNotice(envelope);
    if (!notice) return;
    this.revocations.revoke(envelope.tenant, notice.kind, notice.id, notice.at);
    const closed = this.closeMatching(envelope.tenant, notice.kind, notice.id, notice.explicit ? notice.at : undefined);
    if (notice.notice !== undefined) this.report(envelope.tenant, notice.notice, closed);
  }

  onModuleDestroy(): void {
    this.destroy$.next();
    this.destroy$.complete();
  }

  /**
   * Returns the number of sockets closed on every node that reported within a second (all of them,
   * unless one is dying). Rejects with `TransportUnavailableError` when the other nodes could not be
   * told (this node's part is done; retrying is safe).
   *
   * `issuedBefore` (Unix seconds) is the denylist cut-off: tokens with an `iat` below it are refused, and only
   * the sockets opened with such tokens close. Without it the cut-off is the start of the current second
   * (tokens minted in this second, e.g. the device's replacement, are accepted) and every matching socket closes.
   */
  async revoke(tenant: string, kind: RevocationKind, id: string, issuedBefore?: number): Promise<number> {
    const at = issuedBefore ?? defaultIssuedBefore();
    this.revocations.revoke(tenant, kind, id, at);
    const closedHere = this.closeMatching(tenant, kind, id, issuedBefore);
    const noticeId = randomId(12);
    const notice: RevocationNotice = { kind, id, at, ...(issuedBefore !== undefined && { explicit: true as const }), notice: noticeId };
    const expected = await this.stats.nodeCount().catch(() => 1);
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    // This node reports too (0: its sockets are already closed), so it counts itself among the answers.
    const tally: Tally = { closed: closedHere, reported: new Set(), expected, done };
    this.tallies.set(noticeId, tally);
    const timer = setTimeout(done, TALLY_TIMEOUT_MS);
    try {
      await this.broadcast.publish({ tenant, target: { kind: 'connections', connectionIds: [] }, event: REVOKE_EVENT, data: notice, origin: 'internal' });
      await finished;
    } finally {
      clearTimeout(timer);
      this.tallies.delete(noticeId);
    }
    if (tally.reported.size < expected) this.logger.warn(`Revocation of ${kind} in app ${tenant}: ${tally.reported.size} of ${expected} node(s) reported in time`);
    return tally.closed;
  }

  private report(tenant: string, notice: string, closed: number): void {
    void this.broadcast
      .publish({ tenant, target: { kind: 'connections', connectionIds: [] }, event: REVOKED_EVENT, data: { notice, node: this.node.id, closed }, origin: 'internal' })
      .catch((error: unknown) => this.logger.warn(`Could not report a revocation's count: ${String(error)}`));
  }

  private count(report: { notice: string; node: string; closed: number }): void {
    const tally = this.tallies.get(report.notice);
    if (!tally || tally.reported.has(report.node)) return;
    tally.reported.add(report.node);
    tally.closed += report.closed;
    if (tally.reported.size >= tally.expected) tally.done();
  }

  /**
   * Closes matching sockets without denylisting (also used when a revocation arrives from another node): all of
   * them, or with `issuedBefore` those whose token's `iat` is below it (a socket without a JWT, e.g. a Pusher
   * sign-in, has no `iat` to spare it and closes).
   */
  closeMatching(tenant: string, kind: RevocationKind, id: string, issuedBefore?: number): number {
    const target: Target =
      kind === 'user' ? { kind: 'users', userIds: [id] } : kind === 'session' ? { kind: 'session', sessionId: id } : { kind: 'token', tokenId: id };
    let victims = [...this.registry.resolve(tenant, target)];
    if (issuedBefore !== undefined) {
      victims = victims.filter((connection) => {
        const jwt = connection.identity.jwt;
        return jwt === undefined || jwt.issuedAt < issuedBefore;
      });
    }
    for (const connection of victims) {
      // Leave the indexes before the close handshake so nothing more is delivered to it.
      this.registry.remove(connection, CLOSE_SESSION_REVOKED);
      connection.close(CLOSE_SESSION_REVOKED, SESSION_REVOKED_REASON);
    }
    if (victims.length > 0) this.logger.log(`Revoked ${kind} in app ${tenant}: closed ${victims.length} socket(s)`);
    return victims.length;
  }
}
