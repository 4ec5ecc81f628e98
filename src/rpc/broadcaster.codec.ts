import { Injectable, Optional } from '@nestjs/common';
import { HeraldConfig } from '../config/herald-config.js';
import { isPlainObject, RpcCodec, type RpcId, type RpcParse } from './rpc.codec.js';
import type { RpcFault, RpcFaultKind } from './rpc.errors.js';

/** The Broadcaster's error codes (gRPC names); `ResourceExhausted` is Herald's addition for rate limits. */
export type BroadcasterErrorCode =
  | 'InvalidArgument'
  | 'NotFound'
  | 'AlreadyExists'
  | 'FailedPrecondition'
  | 'PermissionDenied'
  | 'Unauthenticated'
  | 'ResourceExhausted'
  | 'Internal';

export function broadcasterCode(kind: RpcFaultKind): BroadcasterErrorCode {
  switch (kind) {
    case 'parse_error':
    case 'invalid_request':
    case 'invalid_params':
      return 'InvalidArgument';
    case 'method_not_found':
    case 'not_found':
      return 'NotFound';
    case 'conflict':
      return 'AlreadyExists';
    case 'failed_precondition':
      return 'FailedPrecondition';
    case 'forbidden':
      return 'PermissionDenied';
    case 'unauthenticated':
      return 'Unauthenticated';
    case 'rate_limited':
      return 'ResourceExhausted';
    case 'internal':
      return 'Internal';
    default: {
      const unreachable: never = kind;
      throw new Error(`unknown fault ${String(unreachable)}`);
    }
  }
}

/**
 * `/ws/rpc`, The Broadcaster's framing: requests `{"id":<int>,"method","params"}` (no id or id 0 =
 * notification), replies `{"requestId":<id>,"result"}` / `{"requestId":<id>,"error":{"code","message"}}`,
 * server messages `{"method","params"}` without `jsonrpc`.
 */
@Injectable()
export class BroadcasterCodec extends RpcCodec {
  readonly protocol = 'rpc' as const;
  protected readonly notificationPrefix = '{"method":';
  protected readonly nullParams = true;

  constructor(@Optional() config?: HeraldConfig) {
    super(config);
  }

  protected replyIdOf(id: unknown): RpcId {
    return typeof id === 'number' && Number.isSafeInteger(id) && id !== 0 ? id : null;
  }

  parse(text: string): RpcParse {
    const parsed = this.parseFrame(text);
    if (!parsed.ok) {
      if ('refusal' in parsed) return parsed.refusal;
      return { ok: false, id: null, fault: { kind: 'parse_error', message: 'frame is not valid JSON' } };
    }
    const value = parsed.value;
    if (Array.isArray(value)) {
      return { ok: false, id: null, fault: { kind: 'invalid_request', message: 'batches are not supported; send one request object per frame' } };
    }
    if (!isPlainObject(value)) {
      return { ok: false, id: null, fault: { kind: 'invalid_request', message: 'frame must be a JSON object {id, method, params}' } };
    }
    const rawId = value.id;
    let id: number | undefined;
    if (rawId === undefined || rawId === null || rawId === 0) id = undefined;
    else if (typeof rawId === 'number' && Number.isSafeInteger(rawId)) id = rawId;
    else return { ok: false, id: null, fault: { kind: 'invalid_request', message: '"id" must be an integer', field: 'id' } };
    if (typeof value.method !== 'string' || value.method === '') {
      return { ok: false, id: id ?? null, fault: { kind: 'invalid_request', message: '"method" must be a non-empty string', field: 'method' } };
    }
    return { ok: true, request: { ...(id !== undefined && { id }), method: value.method, params: value.params } };
  }

  result(id: RpcId, result: unknown): string {
    return `{"requestId":${JSON.stringify(id)},"result":${JSON.stringify(result ?? null)}}`;
  }

  error(id: RpcId, fault: RpcFault): string {
    const data = fault.field === undefined ? '' : `,"data":{"field":${JSON.stringify(fault.field)}}`;
    return `{"requestId":${JSON.stringify(id)},"error":{"code":"${broadcasterCode(fault.kind)}","message":${JSON.stringify(fault.message)}${data}}}`;
  }
}
