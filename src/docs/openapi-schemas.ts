import type { SchemaObject } from '@nestjs/swagger';
import { z } from 'zod';

/**
 * An OpenAPI 3.0 Schema Object from the zod schema that validates the same input, so the document
 * cannot drift from what the server accepts (`.refine` rules are not expressible and stay prose).
 */
export function openApiSchema(schema: z.ZodType): SchemaObject {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'openapi-3.0', unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
  return rest as SchemaObject;
}

/** Every error body: `{ "error": code, "message": text, ...details }` (HttpErrorFilter). */
export const ERROR_BODY: SchemaObject = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'Stable machine-readable code, e.g. `validation_failed`, `unauthorized`, `rate_limited`', example: 'validation_failed' },
    message: { type: 'string', description: 'For humans' },
  },
  additionalProperties: true,
};

/** Headers of a 429. */
export const RATE_LIMIT_HEADERS = {
  'Retry-After': { description: 'Seconds until the window resets', schema: { type: 'integer' } },
  'X-RateLimit-Limit': { description: 'Requests allowed per window (per-IP REST limit only)', schema: { type: 'integer' } },
  'X-RateLimit-Remaining': { description: 'Requests left in the window (per-IP REST limit only)', schema: { type: 'integer' } },
} as const;
