import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import {
  ApiKeyInvalidError,
  AppError,
  AppNotFoundError,
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  RateLimitedError,
  TokenInvalidError,
  TransportUnavailableError,
  ValidationFailedError,
} from './app.errors.js';

/** Maps typed errors to HTTP once: `{ "error": code, "message": text, ...details }`. */
export function httpStatusOf(error: AppError): number {
  if (error instanceof ValidationFailedError) return 400;
  if (error instanceof ApiKeyInvalidError || error instanceof TokenInvalidError) return 401;
  if (error instanceof PermissionDeniedError) return 403;
  if (error instanceof AppNotFoundError || error instanceof NotFoundError) return 404;
  if (error instanceof ConflictError) return 409;
  if (error instanceof PayloadTooLargeError) return 413;
  if (error instanceof RateLimitedError) return 429;
  if (error instanceof TransportUnavailableError) return 503;
  return 500;
}

interface BodyParserError {
  type?: string;
  status?: number;
  message?: string;
}

@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return;
    const response = host.switchToHttp().getResponse<Response>();
    if (response.headersSent) return;

    if (exception instanceof AppError) {
      if (exception instanceof RateLimitedError || exception instanceof TransportUnavailableError) {
        response.setHeader('Retry-After', String(exception.retryAfterSeconds));
      }
      response.status(httpStatusOf(exception)).json({ error: exception.code, message: exception.message, ...exception.details });
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      // terminus answers 503 with its own JSON shape (status/info/error/details); keep such bodies as they are.
      if (typeof body === 'object' && body !== null && 'status' in body && 'details' in body) {
        response.status(status).json(body);
        return;
      }
      response.status(status).json({ error: codeForStatus(status), message: exception.message });
      return;
    }
    // body-parser errors arrive as plain errors with a `type` and a `status`.
    const parserError = exception as BodyParserError;
    if (parserError?.type === 'entity.too.large') {
      response.status(413).json({ error: 'payload_too_large', message: 'request body exceeds the size limit' });
      return;
    }
    if (parserError?.type === 'entity.parse.failed') {
      response.status(400).json({ error: 'validation_failed', message: 'request body is not valid JSON' });
      return;
    }
    this.logger.error(exception);
    response.status(500).json({ error: 'internal', message: 'internal error' });
  }
}

function codeForStatus(status: number): string {
  if (status === 404) return 'not_found';
  if (status === 401) return 'unauthorized';
  if (status === 400) return 'validation_failed';
  if (status === 413) return 'payload_too_large';
  return status >= 500 ? 'internal' : 'error';
}
