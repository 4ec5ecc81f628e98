import type { IncomingHttpHeaders } from 'node:http';
import type { Envelope, StreamPosition } from '../broadcast/envelope.js';
import type { AppConfig } from '../config/herald-config.js';
import type { Connection } from '../connections/connection.js';
import type { RpcRequest } from './rpc.codec.js';

/** One channel subscription of one connection. */
export interface RpcSubscription {
  /** Messages numbered on this subscription so far; the next one gets `seq + 1`. */
  seq: number;
  /**
   * While the subscribe call reads the channel's position/history, live messages wait here (in order)
   * so they follow the reply and the replay; null once the subscription is live.
   */
  pending: Envelope[] | null;
  /** Live messages dropped from a full `pending` (oldest first); their `seq` numbers are skipped, so the client sees the gap. */
  pendingSkipped?: number;
  /** After a recovery: live messages at or below this position were replayed already and are skipped. */
  replayedUpTo?: StreamPosition;
}

/** Live messages one subscription may queue while its history read is in flight; older ones are skipped (a `seq` gap). */
export const RPC_PENDING_LIMIT = 128;

/** Queues a live message behind a subscription's history read, within RPC_PENDING_LIMIT. */
export function queuePending(subscription: RpcSubscription, pending: Envelope[], envelope: Envelope): void {
  if (pending.length >= RPC_PENDING_LIMIT) {
    pending.shift();
    subscription.pendingSkipped = (subscription.pendingSkipped ?? 0) + 1;
  }
  pending.push(envelope);
}

/** Protocol state of a `/ws/rpc` or `/ws/jsonrpc` connection. */
export interface RpcSession {
  readonly app: AppConfig;
  /** The upgrade request's headers (what the app's `authorizeUrl` receives). */
  readonly headers: IncomingHttpHeaders;
  authenticated: boolean;
  authTimer?: NodeJS.Timeout;
  readonly subscriptions: Map<string, RpcSubscription>;
  /** A request is awaiting something (history read, publish); later ones wait in `backlog`, in order. */
  busy: boolean;
  readonly backlog: RpcRequest[];
  /** Concurrent requests (publish) not answered yet. */
  inFlight: number;
}

export type RpcConnection = Connection<RpcSession>;

export function newRpcSession(app: AppConfig, authenticated: boolean, headers: IncomingHttpHeaders = {}): RpcSession {
  return { app, headers, authenticated, subscriptions: new Map(), busy: false, backlog: [], inFlight: 0 };
}

/** Connections carrying an RPC codec always hold an RpcSession (the gateways attach them so). */
export function rpcSession(connection: Connection): RpcSession {
  return connection.session as RpcSession;
}
