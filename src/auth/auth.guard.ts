import { createParamDecorator, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { AppRegistry } from '../config/app-registry.service.js';
import type { AppConfig } from '../config/herald-config.js';
import { ApiKeyInvalidError } from '../errors/app.errors.js';

/** An authenticated REST request carries the app its API key belongs to. */
export interface AuthenticatedRequest extends Request {
  heraldApp?: AppConfig;
}

/**
 * REST publishers: `Authorization: Bearer <apiKey>`; the key identifies the app (tenant).
 * Keys are compared in constant time by the registry. Missing or wrong key → 401.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(private readonly apps: AppRegistry) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new ApiKeyInvalidError('missing "Authorization: Bearer <api key>" header');
    const app = this.apps.findByApiKey(match[1]);
    if (!app) throw new ApiKeyInvalidError('invalid API key');
    request.heraldApp = app;
    return true;
  }
}

/** The app (tenant) resolved by `AuthGuard`. */
export const CurrentApp = createParamDecorator((_: unknown, context: ExecutionContext): AppConfig => {
  const app = context.switchToHttp().getRequest<AuthenticatedRequest>().heraldApp;
  if (!app) throw new ApiKeyInvalidError('not authenticated');
  return app;
});
