import type { WebSocket } from 'ws';
import type { Envelope } from '../broadcast/envelope.js';
import type { AppConfig } from '../config/herald-config.js';
import { Connection } from '../connections/connection.js';
import { BroadcasterCodec } from './broadcaster.codec.js';
import { JsonRpcCodec } from './jsonrpc.codec.js';
import { newRpcSession } from './rpc.session.js';

const envelope = (target: Envelope['target'], extra: Partial<Envelope> = {}): Envelope => ({
  id: 'm1',
  tenant: 't',
  target,
  event: 'ev',
  data: { a: 1 },
  createTime: '2025-01-01T00:00:00.000Z',
  publishedAt: 0,
  origin: 'rest',
  position: { offset: 7, epoch: 'E' },
  ...extra,
});

const connection = (codec: BroadcasterCodec | JsonRpcCodec, authenticated = true) =>
  new Connection('c', { tenant: 't', scopes: [] }, codec.protocol, {} as WebSocket, codec, newRpcSession({ id: 't' } as AppConfig, authenticated));

describe('BroadcasterCodec', () => {
  const codec = new BroadcasterCodec();

  it.each([
    ['{"id":1,"method":"ping"}', { ok: true, request: { id: 1, method: 'ping', params: undefined } }],
    ['{"method":"ping"}', { ok: true, request: { method: 'ping', params: undefined } }],
    ['{"id":0,"method":"ping","params":{}}', { ok: true, request: { method: 'ping', params: {} } }],
    ['nope', { ok: false, id: null, fault: { kind: 'parse_error', message: 'frame is not valid JSON' } }],
    ['[{"id":1}]', { ok: false, id: null, fault: expect.objectContaining({ kind: 'invalid_request' }) }],
    ['{"id":"1","method":"x"}', { ok: false, id: null, fault: expect.objectContaining({ kind: 'invalid_request', field: 'id' }) }],
    ['{"id":3}', { ok: false, id: 3, fault: expect.objectContaining({ kind: 'invalid_request', field: 'method' }) }],
  ])('parses %s', (raw, expected) => {
    expect(codec.parse(raw)).toEqual(expected);
  });

  it('frames replies and errors', () => {
    expect(JSON.parse(codec.result(4, { success: true }))).toEqual({ requestId: 4, result: { success: true } });
    expect(JSON.parse(codec.error(null, { kind: 'invalid_params', message: 'm', field: 'channel' }))).toEqual({
      requestId: null,
      error: { code: 'InvalidArgument', message: 'm', data: { field: 'channel' } },
    });
  });

  it('splices seq into a channel frame built once, per subscription', () => {
    const frame = codec.encode(envelope({ kind: 'channel', channel: 'news' }));
    if (frame === null || typeof frame === 'string') throw new Error('expected a personalized frame');
    const a = connection(codec);
    const b = connection(codec);
    a.session.subscriptions.set('news', { seq: 0, pending: null });
    b.session.subscriptions.set('news', { seq: 41, pending: null });
    expect(JSON.parse(frame.render(a as Connection) ?? '')).toEqual({
      method: 'broadcast',
      params: { id: 'm1', seq: 1, offset: 7, epoch: 'E', createTime: '2025-01-01T00:00:00.000Z', channel: 'news', event: 'ev', payload: { a: 1 } },
    });
    expect(JSON.parse(frame.render(b as Connection) ?? '').params.seq).toBe(42);
    expect(frame.render(connection(codec) as Connection)).toBeNull();
  });

  it('sends targeted messages as {method, params}, tenant-wide ones to authenticated connections only, and drops internal ones', () => {
    expect(codec.encode(envelope({ kind: 'users', userIds: ['u'] }))).toBe('{"method":"ev","params":{"a":1}}');
    const tenantWide = codec.encode(envelope({ kind: 'tenant' }));
    if (tenantWide === null || typeof tenantWide === 'string') throw new Error('expected a personalized frame');
    expect(tenantWide.render(connection(codec) as Connection)).toBe('{"method":"ev","params":{"a":1}}');
    expect(tenantWide.render(connection(codec, false) as Connection)).toBeNull();
    expect(codec.encode(envelope({ kind: 'channel', channel: 'presence-x' }, { origin: 'internal' }))).toBeNull();
    expect(codec.encode(envelope({ kind: 'connections', connectionIds: [] }))).toBeNull();
    expect(codec.lagNotice()).toBeNull();
  });
});

describe('JsonRpcCodec', () => {
  const codec = new JsonRpcCodec();

  it.each([
    ['{"jsonrpc":"2.0","id":"a","method":"ping"}', { ok: true, request: { id: 'a', method: 'ping', params: undefined } }],
    ['{"jsonrpc":"2.0","id":null,"method":"ping"}', { ok: true, request: { id: null, method: 'ping', params: undefined } }],
    ['{"jsonrpc":"2.0","method":"ping","params":[1]}', { ok: true, request: { method: 'ping', params: [1] } }],
    ['{', { ok: false, id: null, fault: expect.objectContaining({ kind: 'parse_error' }) }],
    ['[]', { ok: false, id: null, fault: expect.objectContaining({ kind: 'invalid_request', message: expect.stringMatching(/batch/) }) }],
    ['{"id":1,"method":"ping"}', { ok: false, id: 1, fault: expect.objectContaining({ kind: 'invalid_request', field: 'jsonrpc' }) }],
    ['{"jsonrpc":"2.0","id":true,"method":"ping"}', { ok: false, id: null, fault: expect.objectContaining({ field: 'id' }) }],
    ['{"jsonrpc":"2.0","id":2,"method":"ping","params":3}', { ok: false, id: 2, fault: expect.objectContaining({ field: 'params' }) }],
  ])('parses %s', (raw, expected) => {
    expect(codec.parse(raw)).toEqual(expected);
  });

  it('maps every fault to its JSON-RPC code', () => {
    const code = (kind: Parameters<typeof codec.error>[1]['kind']) => JSON.parse(codec.error(1, { kind, message: 'm' })).error.code;
    expect(
      (['parse_error', 'invalid_request', 'method_not_found', 'invalid_params', 'internal', 'unauthenticated', 'forbidden', 'not_found', 'conflict', 'failed_precondition', 'rate_limited'] as const).map(code),
    ).toEqual([-32700, -32600, -32601, -32602, -32603, -32001, -32002, -32003, -32004, -32004, -32006]);
  });

  it('writes notifications with "jsonrpc":"2.0" and omits empty params', () => {
    expect(codec.notification('ev', null)).toBe('{"jsonrpc":"2.0","method":"ev"}');
    expect(codec.notification('ev', { a: 1 })).toBe('{"jsonrpc":"2.0","method":"ev","params":{"a":1}}');
    expect(codec.result('x', { ok: 1 })).toBe('{"jsonrpc":"2.0","id":"x","result":{"ok":1}}');
  });
});
