import type { AppConfig } from '../config/herald-config.js';
import { livenessAction, touch } from './pusher-liveness.js';
import { newSession } from './pusher-session.js';

describe('Pusher liveness', () => {
  const session = () => newSession({ id: 'a' } as AppConfig, 0);

  it('pings a connection silent for the activity timeout, then closes it if nothing comes back', () => {
    const s = session();
    expect(livenessAction(s, 119_999)).toBe('none');
    expect(livenessAction(s, 120_000)).toBe('ping');
    s.pingSentAt = 120_000;
    expect(livenessAction(s, 149_999)).toBe('none');
    expect(livenessAction(s, 150_000)).toBe('close');
  });

  it('counts any inbound frame as activity and as the answer to a pending ping', () => {
    const s = session();
    s.pingSentAt = 120_000;
    touch(s, 130_000);
    expect(livenessAction(s, 200_000)).toBe('none');
    expect(livenessAction(s, 250_000)).toBe('ping');
  });
});
