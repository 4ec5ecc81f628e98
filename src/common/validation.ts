import type { z } from 'zod';
import { ValidationFailedError } from '../errors/app.errors.js';

/** Parses untrusted input with a schema; a failure names the first bad field. */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.map(String).join('.') || '(body)';
  throw new ValidationFailedError(`${field}: ${issue.message}`, {
    field,
    issues: result.error.issues.map((i) => ({ field: i.path.map(String).join('.') || '(body)', message: i.message })),
  });
}
