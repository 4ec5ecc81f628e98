import { ACTIVITY_TIMEOUT_SECONDS, PONG_TIMEOUT_SECONDS } from './pusher.frames.js';
import type { PusherSession } from './pusher-session.js';

export type LivenessAction = 'none' | 'ping' | 'close';

/**
 * Protocol-level liveness (on top of the core's WebSocket ping frames): a connection silent for
 * `activityMs` gets a `pusher:ping`; if nothing at all arrives within `pongMs` after it, it is closed
 * with 4201. Any inbound frame counts as activity (see `touch`).
 */
export function livenessAction(
  session: PusherSession,
  now: number,
  activityMs = ACTIVITY_TIMEOUT_SECONDS * 1000,
  pongMs = PONG_TIMEOUT_SECONDS * 1000,
): LivenessAction {
  if (session.pingSentAt !== 0) return now - session.pingSentAt >= pongMs ? 'close' : 'none';
  return now - session.lastActivityAt >= activityMs ? 'ping' : 'none';
}

export function touch(session: PusherSession, now = Date.now()): void {
  session.lastActivityAt = now;
  session.pingSentAt = 0;
}
