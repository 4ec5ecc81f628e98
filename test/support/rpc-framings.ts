import type { TestClient } from './ws-client.js';

/** What the RPC methods fail with, and how each framing spells it. */
export type Fault =
  | 'parse_error'
  | 'invalid_request'
  | 'method_not_found'
  | 'invalid_params'
  | 'unauthenticated'
  | 'forbidden'
  | 'conflict'
  | 'failed_precondition'
  | 'rate_limited';

export type Frame = Record<string, unknown> & {
  requestId?: unknown;
  id?: unknown;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: string | number; message: string; data?: Record<string, unknown> };
};

/** One of the two framings of the same methods, so every test runs against both. */
export interface Framing {
  name: string;
  path: string;
  request(id: number | undefined, method: string, params?: unknown): Record<string, unknown>;
  replyId(frame: Frame): unknown;
  code(fault: Fault): string | number;
  /** Server notifications carry `"jsonrpc":"2.0"` on /ws/jsonrpc only. */
  notification(method: string, params: unknown): Record<string, unknown>;
}

const BROADCASTER_CODES: Record<Fault, string> = {
  parse_error: 'InvalidArgument',
  invalid_request: 'InvalidArgument',
  method_not_found: 'NotFound',
  invalid_params: 'InvalidArgument',
  unauthenticated: 'Unauthenticated',
  forbidden: 'PermissionDenied',
  conflict: 'AlreadyExists',
  failed_precondition: 'FailedPrecondition',
  rate_limited: 'ResourceExhausted',
};

const JSONRPC_CODES: Record<Fault, number> = {
  parse_error: -32700,
  invalid_request: -32600,
  method_not_found: -32601,
  invalid_params: -32602,
  unauthenticated: -32001,
  forbidden: -32002,
  conflict: -32004,
  failed_precondition: -32004,
  rate_limited: -32006,
};

export const RPC: Framing = {
  name: '/ws/rpc',
  path: '/ws/rpc',
  request: (id, method, params) => ({ ...(id !== undefined && { id }), method, ...(params !== undefined && { params }) }),
  replyId: (frame) => frame.requestId,
  code: (fault) => BROADCASTER_CODES[fault],
  notification: (method, params) => ({ method, params }),
};

export const JSONRPC: Framing = {
  name: '/ws/jsonrpc',
  path: '/ws/jsonrpc',
  request: (id, method, params) => ({ jsonrpc: '2.0', ...(id !== undefined && { id }), method, ...(params !== undefined && { params }) }),
  replyId: (frame) => (frame.jsonrpc === '2.0' && 'id' in frame ? frame.id : undefined),
  code: (fault) => JSONRPC_CODES[fault],
  notification: (method, params) => ({ jsonrpc: '2.0', method, ...(params !== undefined && params !== null && { params }) }),
};

export const FRAMINGS = [RPC, JSONRPC];

export const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** A client speaking one framing: `call` sends a request and awaits its reply. */
export class RpcClient {
  private nextId = 1;

  constructor(
    readonly framing: Framing,
    readonly client: TestClient,
  ) {}

  async call(method: string, params?: unknown, timeoutMs = 3000): Promise<Frame> {
    const id = this.nextId++;
    this.client.send(this.framing.request(id, method, params));
    return this.client.next<Frame>((frame) => this.framing.replyId(frame) === id && ('result' in frame || 'error' in frame), timeoutMs);
  }

  async ok(method: string, params?: unknown): Promise<Record<string, unknown>> {
    const reply = await this.call(method, params);
    if (!reply.result) throw new Error(`${method} failed: ${JSON.stringify(reply)}`);
    return reply.result;
  }

  async fails(method: string, params: unknown, fault: Fault): Promise<Frame['error']> {
    const reply = await this.call(method, params);
    if (!reply.error) throw new Error(`${method} succeeded: ${JSON.stringify(reply)}`);
    if (reply.error.code !== this.framing.code(fault)) throw new Error(`${method}: expected ${fault}, got ${JSON.stringify(reply.error)}`);
    return reply.error;
  }

  /** The next `broadcast` notification (optionally on one channel). */
  broadcast(channel?: string, timeoutMs = 3000): Promise<Frame & { params: Record<string, unknown> }> {
    return this.client.next<Frame & { params: Record<string, unknown> }>(
      (frame) => frame.method === 'broadcast' && (channel === undefined || frame.params?.channel === channel),
      timeoutMs,
    );
  }

  broadcasts(channel?: string): (Frame & { params: Record<string, unknown> })[] {
    return this.client.frames.filter(
      (frame) => (frame as Frame).method === 'broadcast' && (channel === undefined || (frame as Frame).params?.channel === channel),
    ) as (Frame & { params: Record<string, unknown> })[];
  }
}
