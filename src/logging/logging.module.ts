import { Inject, Logger, Module, RequestMethod, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { HeraldSettings } from '../config/herald-config.js';
import { ConnectionLog } from './connection-log.service.js';
import { logFormat, pinoHttpOptions, type LogFormat } from './pino-options.js';

/** The chosen format, so its warning is logged once pino is the logger (at forRoot time it is not yet). */
const LOG_FORMAT = Symbol('LogFormat');

/**
 * Structured logs through nestjs-pino: JSON lines on stdout (pretty in development), request ids on
 * REST, a line per WebSocket open/close, secrets never logged. `LOG_LEVEL` sets the level.
 * `destination` replaces stdout (tests capture lines in-process with it).
 */
@Module({})
export class LoggingModule implements OnModuleInit {
  constructor(@Inject(LOG_FORMAT) private readonly format: LogFormat) {}

  static forRoot(settings: HeraldSettings, destination?: DestinationStream): DynamicModule {
    const format: LogFormat = destination === undefined ? logFormat(settings) : { pretty: false };
    const options = pinoHttpOptions(settings, format.pretty);
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: destination ? [options, destination] : options,
          forRoutes: [{ path: '{/*splat}', method: RequestMethod.ALL }],
        }),
      ],
      providers: [ConnectionLog, { provide: LOG_FORMAT, useValue: format }],
    };
  }

  onModuleInit(): void {
    if (this.format.warning) new Logger('Logging').warn(this.format.warning);
  }
}
