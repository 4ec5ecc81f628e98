/**
 * Services throw these; each transport maps them once (HTTP status in `HttpErrorFilter`,
 * protocol error frames in each gateway). `code` is the client contract, `message` is for humans.
 */
export abstract class AppError extends Error {
  abstract readonly code: string;
  /** Extra, client-safe details (e.g. the offending field). */
  readonly details?: Record<string, unknown>;
  constructor(message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

export class ValidationFailedError extends AppError {
  readonly code = 'validation_failed' as const;
}
export class PayloadTooLargeError extends AppError {
  readonly code = 'payload_too_large' as const;
}
export class ApiKeyInvalidError extends AppError {
  readonly code = 'unauthorized' as const;
}
export class TokenInvalidError extends AppError {
  readonly code = 'token_invalid' as const;
}
export class AppNotFoundError extends AppError {
  readonly code = 'app_not_found' as const;
}
export class PermissionDeniedError extends AppError {
  readonly code = 'permission_denied' as const;
}
export class NotFoundError extends AppError {
  readonly code = 'not_found' as const;
}
export class ConflictError extends AppError {
  readonly code = 'conflict' as const;
}
/** A connection already holds `maxChannelsPerConnection` channels (HERALD_MAX_CHANNELS_PER_CONNECTION). */
export class ChannelLimitReachedError extends AppError {
  readonly code = 'limit_reached' as const;
}
export class RateLimitedError extends AppError {
  readonly code = 'rate_limited' as const;
  constructor(message: string, readonly retryAfterSeconds: number, details?: Record<string, unknown>) {
    super(message, details);
  }
}
/** The cluster transport refused a publish; nothing was delivered anywhere. */
export class TransportUnavailableError extends AppError {
  readonly code = 'transport_unavailable' as const;
  constructor(message: string, readonly retryAfterSeconds = 1) {
    super(message);
  }
}
