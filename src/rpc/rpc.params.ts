import { z } from 'zod';
import { channelNameProblem } from '../channels/channel-name.js';
import type { AppConfig } from '../config/herald-config.js';
import { ValidationFailedError } from '../errors/app.errors.js';

export const authParams = z.object({ token: z.string().min(1) });

const since = z.object({ offset: z.number().int().min(0), epoch: z.string().min(1).max(64) });

export const subscribeParams = z.object({ channel: z.unknown(), since: since.optional() });
export const unsubscribeParams = z.object({ channel: z.unknown() });
export const publishParams = z.object({ channel: z.unknown(), event: z.string().min(1), payload: z.unknown() });

/**
 * Narrows a method's `params`; the error names the field (`channel`, `since.offset`), or `params`
 * when it is missing or not an object. Unknown extra fields are ignored, as The Broadcaster does.
 */
export function parseParams<T extends z.ZodType>(schema: T, params: unknown): z.infer<T> {
  if (params === undefined || params === null) throw new ValidationFailedError('missing params', { field: 'params' });
  if (typeof params !== 'object' || Array.isArray(params)) {
    throw new ValidationFailedError('invalid params: params must be an object', { field: 'params' });
  }
  const result = schema.safeParse(params);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.map(String).join('.');
  throw new ValidationFailedError(`invalid params: ${field}: ${issue.message}`, { field });
}

/** A valid channel name of the app, or InvalidArgument naming `channel`. */
export function channelParam(value: unknown, app: AppConfig): string {
  const problem = channelNameProblem(value, app.maxChannelNameLength);
  if (problem !== null) throw new ValidationFailedError(`invalid channel: ${problem}`, { field: 'channel' });
  return value as string;
}

/** An event name within the app's `maxEventNameLength`. */
export function eventParam(value: string, app: AppConfig): string {
  if (value.length > app.maxEventNameLength) {
    throw new ValidationFailedError(`invalid params: event: must be at most ${app.maxEventNameLength} characters`, { field: 'event' });
  }
  return value;
}
