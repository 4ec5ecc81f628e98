import { AppError } from '../errors/app.errors.js';

/** A frame that is not JSON. */
export class RpcParseError extends AppError {
  readonly code = 'parse_error' as const;
}
/** JSON that is not a request object (arrays/batches, missing method, bad id type). */
export class RpcInvalidRequestError extends AppError {
  readonly code = 'invalid_request' as const;
}
export class RpcMethodNotFoundError extends AppError {
  readonly code = 'method_not_found' as const;
}
/** The method needs an authenticated connection (`auth` first, or a token at the upgrade). */
export class RpcUnauthenticatedError extends AppError {
  readonly code = 'unauthenticated' as const;
}
/** The connection is in the wrong state for the call (e.g. a second `auth`). */
export class RpcFailedPreconditionError extends AppError {
  readonly code = 'failed_precondition' as const;
}

/**
 * What went wrong, independent of framing. Each codec maps every kind exhaustively: The Broadcaster's
 * string codes on `/ws/rpc`, JSON-RPC 2.0 integers on `/ws/jsonrpc`.
 */
export type RpcFaultKind =
  | 'parse_error'
  | 'invalid_request'
  | 'method_not_found'
  | 'invalid_params'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'failed_precondition'
  | 'rate_limited'
  | 'internal';

export interface RpcFault {
  kind: RpcFaultKind;
  message: string;
  /** The offending parameter, for `invalid_params`. */
  field?: string;
}

/** AppError codes the RPC layer understands; anything else is masked as `internal`. */
const KIND_BY_CODE: Readonly<Record<string, RpcFaultKind>> = {
  parse_error: 'parse_error',
  invalid_request: 'invalid_request',
  method_not_found: 'method_not_found',
  validation_failed: 'invalid_params',
  payload_too_large: 'invalid_params',
  unauthenticated: 'unauthenticated',
  token_invalid: 'unauthenticated',
  permission_denied: 'forbidden',
  not_found: 'not_found',
  conflict: 'conflict',
  failed_precondition: 'failed_precondition',
  rate_limited: 'rate_limited',
  // ResourceExhausted / -32006: a quota of the connection, like the rate limits.
  limit_reached: 'rate_limited',
};

/** The fault to send for an error a handler threw; unknown errors become `internal` (never leaked). */
export function faultOf(error: unknown): RpcFault {
  if (error instanceof AppError) {
    const kind = KIND_BY_CODE[error.code];
    if (kind !== undefined) {
      const field = error.details?.field;
      return { kind, message: error.message, ...(typeof field === 'string' && { field }) };
    }
  }
  return { kind: 'internal', message: 'internal error' };
}
