import { Module, RequestMethod, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { HeraldSettings } from '../config/herald-config.js';
import { ConnectionLog } from './connection-log.service.js';
import { pinoHttpOptions, wantsPretty } from './pino-options.js';

/**
 * Structured logs through nestjs-pino: JSON lines on stdout (pretty in development), request ids on
 * REST, a line per WebSocket open/close, secrets never logged. `LOG_LEVEL` sets the level.
 * `destination` replaces stdout (tests capture lines in-process with it).
 */
@Module({})
export class LoggingModule {
  static forRoot(settings: HeraldSettings, destination?: DestinationStream): DynamicModule {
    const options = pinoHttpOptions(settings, destination === undefined && wantsPretty(settings));
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: destination ? [options, destination] : options,
          forRoutes: [{ path: '{/*splat}', method: RequestMethod.ALL }],
        }),
      ],
      providers: [ConnectionLog],
    };
  }
}
