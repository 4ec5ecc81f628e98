import { AppError } from '../../errors/app.errors.js';

/** 403 on the Pusher HTTP API: the app is disabled. */
export class AppDisabledError extends AppError {
  readonly code = 'app_disabled' as const;
}
