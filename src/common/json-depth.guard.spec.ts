import type { ExecutionContext } from '@nestjs/common';
import type { HeraldConfig } from '../config/herald-config.js';
import { ValidationFailedError } from '../errors/app.errors.js';
import { JsonDepthGuard } from './json-depth.guard.js';

/** The guard only reads the request; the real HTTP path is covered by test/hardening-payloads.e2e-spec.ts. */
function contextOf(request: { body?: unknown; rawBody?: Buffer }): ExecutionContext {
  return { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
}

describe('JsonDepthGuard', () => {
  const guard = new JsonDepthGuard({ maxJsonDepth: 4 } as HeraldConfig);
  const nest = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

  it('scans the raw body when the parser kept it', () => {
    expect(guard.canActivate(contextOf({ body: {}, rawBody: Buffer.from(`{"a":${nest(3)}}`) }))).toBe(true);
    expect(() => guard.canActivate(contextOf({ body: {}, rawBody: Buffer.from(`{"a":${nest(4)}}`) }))).toThrow(ValidationFailedError);
  });

  it('walks a parsed body without its text, without recursion', () => {
    expect(guard.canActivate(contextOf({ body: JSON.parse(`{"a":${nest(3)}}`) as unknown }))).toBe(true);
    expect(() => guard.canActivate(contextOf({ body: JSON.parse(`{"a":${nest(100_000)}}`) as unknown }))).toThrow(/nested deeper than 4 levels/);
  });

  it('lets requests without a JSON body through', () => {
    expect(guard.canActivate(contextOf({}))).toBe(true);
    expect(guard.canActivate(contextOf({ body: 'text' }))).toBe(true);
  });
});
