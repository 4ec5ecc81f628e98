import type { AppConfig } from '../config/herald-config.js';
import type { Connection } from '../connections/connection.js';
import type { PresenceMember } from './state/presence.store.js';

/** The signed-in user of a Pusher connection (`pusher:signin`). */
export interface PusherUser {
  id: string;
  /** `user_info` from the signed user_data; used as presence info when channel_data is absent. */
  info?: unknown;
  watchlist: string[];
}

/** Protocol state of one Pusher connection (`Connection.session`). */
export interface PusherSession {
  app: AppConfig;
  /** ms of the last inbound frame (any frame counts as activity). */
  lastActivityAt: number;
  /** ms when a `pusher:ping` was sent and not yet answered; 0 = none pending. */
  pingSentAt: number;
  /** Presence channels this connection joined, with the member it joined as. */
  presence: Map<string, PresenceMember>;
  user?: PusherUser;
  /** Client events in the current one-second window (rate limit). */
  clientEventWindowStart: number;
  clientEventCount: number;
  /** Closes the connection when user authentication is required and did not happen in time. */
  authTimer?: NodeJS.Timeout;
  /** Inbound frames are handled one after another (some handlers await the state stores). */
  queue: Promise<void>;
}

export type PusherConnection = Connection<PusherSession>;

export function newSession(app: AppConfig, now = Date.now()): PusherSession {
  return {
    app,
    lastActivityAt: now,
    pingSentAt: 0,
    presence: new Map(),
    clientEventWindowStart: 0,
    clientEventCount: 0,
    queue: Promise.resolve(),
  };
}

export function isPusherConnection(connection: Connection): connection is PusherConnection {
  return connection.protocol === 'pusher';
}

/** A user (or the user-auth requirement) was satisfied: stop the 4009 timer. */
export function clearAuthTimer(session: PusherSession): void {
  if (session.authTimer) clearTimeout(session.authTimer);
  session.authTimer = undefined;
}
