import type { Envelope } from '../broadcast/envelope.js';
import type { Connection } from '../connections/connection.js';
import { PusherCodec } from './pusher.codec.js';

const envelope = (overrides: Partial<Envelope>): Envelope => ({
  id: 'x',
  tenant: 'app',
  target: { kind: 'channel', channel: 'news' },
  event: 'e',
  data: { a: 1 },
  createTime: '',
  publishedAt: 0,
  origin: 'pusher-api',
  ...overrides,
});
const connection = (userId?: string) => ({ identity: { tenant: 'app', userId, scopes: [] } }) as unknown as Connection;

describe('PusherCodec', () => {
  const codec = new PusherCodec();

  it('encodes channel events once, with data as a JSON string (strings are kept as they are)', () => {
    expect(codec.encode(envelope({}))).toBe('{"event":"e","channel":"news","data":"{\\"a\\":1}"}');
    expect(codec.encode(envelope({ data: '{"raw":true}' }))).toBe('{"event":"e","channel":"news","data":"{\\"raw\\":true}"}');
  });

  it('adds user_id to presence client events', () => {
    const frame = codec.encode(envelope({ target: { kind: 'channel', channel: 'presence-r' }, senderUserId: '7', origin: 'client' }));
    expect(JSON.parse(frame as string)).toEqual({ event: 'e', channel: 'presence-r', data: '{"a":1}', user_id: '7' });
  });

  it('puts a single-user message on #server-to-user-<id>, the same bytes for every recipient', () => {
    const frame = codec.encode(envelope({ target: { kind: 'users', userIds: ['42'] } }));
    expect(JSON.parse(frame as string)).toEqual({ event: 'e', channel: '#server-to-user-42', data: '{"a":1}' });
  });

  it('renders tenant-wide messages per signed-in connection on its own user channel, none for anonymous ones', () => {
    const frame = codec.encode(envelope({ target: { kind: 'tenant' } }));
    if (frame === null || typeof frame === 'string') throw new Error('expected a personalized frame');
    expect(JSON.parse(frame.render(connection('u1')) as string)).toEqual({ event: 'e', channel: '#server-to-user-u1', data: '{"a":1}' });
    expect(frame.render(connection())).toBeNull();
  });

  it('renders watchlist events without a channel and carries no frame for control envelopes', () => {
    const watch = codec.encode(envelope({ target: { kind: 'channel', channel: '#watchlist-9' }, event: 'pusher_internal:watchlist_events' }));
    expect(JSON.parse(watch as string)).toEqual({ event: 'pusher_internal:watchlist_events', data: '{"a":1}' });
    expect(codec.encode(envelope({ target: { kind: 'connections', connectionIds: [] } }))).toBeNull();
  });
});
