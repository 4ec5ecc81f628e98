import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { AppError, RateLimitedError, TransportUnavailableError } from '../../errors/app.errors.js';
import { httpStatusOf } from '../../errors/http-error.filter.js';
import { AppDisabledError } from './pusher-api.errors.js';

/**
 * The Pusher HTTP API's error shape, `{"error": "<message>", "code": <HTTP status>}` (as soketi),
 * scoped to the `/apps/...` controllers; the SDKs only look at the status.
 */
@Catch()
export class PusherHttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('PusherHTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (response.headersSent) return;
    let status = 500;
    let message = 'Internal server error';
    if (exception instanceof AppDisabledError) {
      status = 403;
      message = exception.message;
    } else if (exception instanceof AppError) {
      status = httpStatusOf(exception);
      message = exception.message;
      if (exception instanceof RateLimitedError || exception instanceof TransportUnavailableError) {
        response.setHeader('Retry-After', String(exception.retryAfterSeconds));
      }
    } else if (exception instanceof HttpException) {
      status = exception.getStatus();
      message = exception.message;
    } else {
      this.logger.error(exception);
    }
    response.status(status).json({ error: message, code: status });
  }
}
