import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { HeraldConfig } from '../config/herald-config.js';
import { ValidationFailedError } from '../errors/app.errors.js';
import { exceedsJsonDepth, tooDeepMessage, valueExceedsJsonDepth } from './json.js';

/**
 * Refuses a JSON request body nested deeper than `HERALD_MAX_JSON_DEPTH` (400 `validation_failed`, or the
 * Pusher HTTP API's `{"error","code":400}` through its filter) before a handler could publish it: the
 * payload is stringified again for every recipient's protocol, and `JSON.stringify` overflows the stack
 * at about 4,500 levels. Scans the raw body (kept by the body parsers for the Pusher signature) in one
 * pass; a body that arrived without its text is walked without recursion instead.
 */
@Injectable()
export class JsonDepthGuard implements CanActivate {
  constructor(private readonly config: HeraldConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request & { rawBody?: Buffer }>();
    const maxDepth = this.config.maxJsonDepth;
    const body: unknown = request.body;
    if (body === undefined || body === null || typeof body !== 'object') return true;
    const raw = request.rawBody;
    const tooDeep = Buffer.isBuffer(raw) ? exceedsJsonDepth(raw, maxDepth) : valueExceedsJsonDepth(body, maxDepth);
    if (tooDeep) {
      throw new ValidationFailedError(`(body): ${tooDeepMessage(maxDepth)}`, { field: '(body)', maxDepth });
    }
    return true;
  }
}
