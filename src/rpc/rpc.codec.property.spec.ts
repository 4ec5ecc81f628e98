import fc from 'fast-check';
import { frames } from '../../test/support/json-arbitraries.js';
import { BroadcasterCodec } from './broadcaster.codec.js';
import { JsonRpcCodec } from './jsonrpc.codec.js';
import type { RpcCodec } from './rpc.codec.js';

const KINDS = ['parse_error', 'invalid_request', 'invalid_params'];
const deep = '['.repeat(5_000) + ']'.repeat(5_000);

describe.each([
  ['/ws/rpc', new BroadcasterCodec(), '{"id":9,"method":"publish","params":{"payload":DEEP}}', 9],
  ['/ws/jsonrpc', new JsonRpcCodec(), '{"jsonrpc":"2.0","id":"r-9","method":"publish","params":{"payload":DEEP}}', 'r-9'],
] as [string, RpcCodec, string, number | string][])('%s parse', (_path, codec, deepRequest, id) => {
  it('refuses a request nested deeper than the limit as invalid params, with its id', () => {
    const parsed = codec.parse(deepRequest.replace('DEEP', deep));
    expect(parsed).toMatchObject({ ok: false, id, fault: { kind: 'invalid_params', field: 'params', message: expect.stringMatching(/nested deeper than 64 levels/) } });
  });

  it('property: every input gives a request or a fault the codec can frame, never a throw', () => {
    fc.assert(
      fc.property(frames(['jsonrpc', 'id', 'method', 'params']), (text) => {
        const parsed = codec.parse(text);
        if (parsed.ok) {
          expect(typeof parsed.request.method).toBe('string');
          expect(() => codec.result(parsed.request.id ?? null, parsed.request.params)).not.toThrow();
        } else {
          expect(KINDS).toContain(parsed.fault.kind);
          expect(() => codec.error(parsed.id, parsed.fault)).not.toThrow();
        }
      }),
      { numRuns: 1_500 },
    );
  });
});
