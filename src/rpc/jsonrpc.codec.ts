import { Injectable, Optional } from '@nestjs/common';
import { HeraldConfig } from '../config/herald-config.js';
import { isPlainObject, RpcCodec, type RpcId, type RpcParse } from './rpc.codec.js';
import type { RpcFault, RpcFaultKind } from './rpc.errors.js';

/** JSON-RPC 2.0 standard codes and fuz_app's application codes. */
export function jsonRpcCode(kind: RpcFaultKind): number {
  switch (kind) {
    case 'parse_error':
      return -32700;
    case 'invalid_request':
      return -32600;
    case 'method_not_found':
      return -32601;
    case 'invalid_params':
      return -32602;
    case 'internal':
      return -32603;
    case 'unauthenticated':
      return -32001;
    case 'forbidden':
      return -32002;
    case 'not_found':
      return -32003;
    // A second `auth` and a duplicate subscription both conflict with the connection's state.
    case 'conflict':
    case 'failed_precondition':
      return -32004;
    case 'rate_limited':
      return -32006;
    default: {
      const unreachable: never = kind;
      throw new Error(`unknown fault ${String(unreachable)}`);
    }
  }
}

/**
 * `/ws/jsonrpc`: strict JSON-RPC 2.0 framing of the same methods. `"jsonrpc":"2.0"` is required,
 * ids are strings, numbers or null (a request without `id` is a notification: executed, never
 * answered), batches (arrays) are rejected with -32600, server messages are notifications with
 * `params` omitted when empty.
 */
@Injectable()
export class JsonRpcCodec extends RpcCodec {
  readonly protocol = 'jsonrpc' as const;
  protected readonly notificationPrefix = '{"jsonrpc":"2.0","method":';
  protected readonly nullParams = false;

  constructor(@Optional() config?: HeraldConfig) {
    super(config);
  }

  protected replyIdOf(id: unknown): RpcId {
    return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : null;
  }

  parse(text: string): RpcParse {
    const parsed = this.parseFrame(text);
    if (!parsed.ok) {
      if ('refusal' in parsed) return { ...parsed.refusal, fault: { ...parsed.refusal.fault, message: `Invalid params: ${parsed.refusal.fault.message}` } };
      return { ok: false, id: null, fault: { kind: 'parse_error', message: 'Parse error: frame is not valid JSON' } };
    }
    const value = parsed.value;
    if (Array.isArray(value)) {
      return { ok: false, id: null, fault: { kind: 'invalid_request', message: 'Invalid Request: batch requests are not supported' } };
    }
    if (!isPlainObject(value)) {
      return { ok: false, id: null, fault: { kind: 'invalid_request', message: 'Invalid Request: frame must be a JSON object' } };
    }
    let id: RpcId | undefined;
    if ('id' in value) {
      const raw = value.id;
      if (raw === null || typeof raw === 'string' || (typeof raw === 'number' && Number.isFinite(raw))) id = raw;
      else return { ok: false, id: null, fault: { kind: 'invalid_request', message: 'Invalid Request: "id" must be a string, a number or null', field: 'id' } };
    }
    const replyId = id ?? null;
    if (value.jsonrpc !== '2.0') {
      return { ok: false, id: replyId, fault: { kind: 'invalid_request', message: 'Invalid Request: "jsonrpc" must be "2.0"', field: 'jsonrpc' } };
    }
    if (typeof value.method !== 'string' || value.method === '') {
      return { ok: false, id: replyId, fault: { kind: 'invalid_request', message: 'Invalid Request: "method" must be a non-empty string', field: 'method' } };
    }
    if (value.params !== undefined && (typeof value.params !== 'object' || value.params === null)) {
      return { ok: false, id: replyId, fault: { kind: 'invalid_request', message: 'Invalid Request: "params" must be an object or an array', field: 'params' } };
    }
    return { ok: true, request: { ...(id !== undefined && { id }), method: value.method, params: value.params } };
  }

  result(id: RpcId, result: unknown): string {
    return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${JSON.stringify(result ?? null)}}`;
  }

  error(id: RpcId, fault: RpcFault): string {
    const data = fault.field === undefined ? '' : `,"data":{"field":${JSON.stringify(fault.field)}}`;
    return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"error":{"code":${jsonRpcCode(fault.kind)},"message":${JSON.stringify(fault.message)}${data}}}`;
  }
}
