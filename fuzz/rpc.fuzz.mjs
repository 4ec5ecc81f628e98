// Coverage-guided target for both RPC framings' parsers (/ws/rpc and /ws/jsonrpc); the first byte picks one.
import { BroadcasterCodec } from '../.cache/fuzz-build/src/rpc/broadcaster.codec.js';
import { JsonRpcCodec } from '../.cache/fuzz-build/src/rpc/jsonrpc.codec.js';
import { check, encodes } from './support.mjs';

const codecs = [new BroadcasterCodec(), new JsonRpcCodec()];
const KINDS = new Set(['parse_error', 'invalid_request', 'invalid_params']);

export function fuzz(data) {
  const codec = codecs[data.length > 0 ? data[0] % 2 : 0];
  const text = data.subarray(1).toString('utf8');
  const parsed = codec.parse(text);
  if (parsed.ok) {
    check(typeof parsed.request.method === 'string' && parsed.request.method !== '', 'request without a method accepted', text);
    encodes(parsed.request.params, text);
    codec.result(parsed.request.id ?? null, parsed.request.params);
  } else {
    check(KINDS.has(parsed.fault.kind), `unexpected fault ${parsed.fault.kind}`, text);
    codec.error(parsed.id, parsed.fault);
  }
}
