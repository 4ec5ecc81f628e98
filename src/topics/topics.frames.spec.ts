import { TopicsCodec } from './topics.codec.js';
import { parseTopicsFrame } from './topics.frames.js';
import type { Envelope } from '../broadcast/envelope.js';

describe('parseTopicsFrame', () => {
  it('reads join, leave and headers; broker and payload are ignored', () => {
    expect(parseTopicsFrame('{"command":"join","broker":"memory","topics":["a","b","a"],"payload":""}', 200, 64)).toEqual({ ok: true, frame: { command: 'join', topics: ['a', 'b'] } });
    expect(parseTopicsFrame('{"command":"leave","topics":["a"]}', 200, 64)).toEqual({ ok: true, frame: { command: 'leave', topics: ['a'] } });
    expect(parseTopicsFrame('{"command":"headers"}', 200, 64)).toEqual({ ok: true, frame: { command: 'headers' } });
  });

  it('says what was wrong, keeping the command when it is known', () => {
    expect(parseTopicsFrame('x', 200, 64)).toMatchObject({ ok: false, command: null });
    expect(parseTopicsFrame('{"command":"join","topics":"a"}', 200, 64)).toMatchObject({ ok: false, command: 'join', topics: [] });
    expect(parseTopicsFrame('{"command":"leave","topics":["ok","no way"]}', 200, 64)).toMatchObject({ ok: false, command: 'leave', topics: ['ok', 'no way'] });
    expect(parseTopicsFrame(JSON.stringify({ command: 'join', topics: Array.from({ length: 101 }, (_, i) => `t${i}`) }), 200, 64)).toMatchObject({ ok: false, message: /at most 100/ });
  });
});

describe('TopicsCodec', () => {
  const codec = new TopicsCodec();
  const envelope = (data: unknown, extra: Partial<Envelope> = {}) =>
    ({ id: 'i', tenant: 't', target: { kind: 'channel', channel: 'news' }, event: 'e', data, createTime: '', publishedAt: 0, origin: 'rest', ...extra }) as Envelope;

  it('carries channel messages with the payload as text', () => {
    expect(codec.encode(envelope('hi'))).toBe('{"topic":"news","payload":"hi"}');
    expect(codec.encode(envelope({ a: 1 }))).toBe('{"topic":"news","payload":"{\\"a\\":1}"}');
    expect(codec.encode(envelope(undefined))).toBe('{"topic":"news","payload":"null"}');
  });

  it('does not carry targeted or internal messages', () => {
    expect(codec.encode(envelope('x', { target: { kind: 'tenant' } }))).toBeNull();
    expect(codec.encode(envelope('x', { origin: 'internal' }))).toBeNull();
    expect(codec.lagNotice(3)).toBe('{"topic":"#lagged","payload":"3"}');
  });
});
