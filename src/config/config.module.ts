import { Global, Module, type DynamicModule } from '@nestjs/common';
import { AppRegistry } from './app-registry.service.js';
import { HeraldConfig, type HeraldSettings } from './herald-config.js';

/** Provides the validated settings (loaded once, before the app is created) and the app registry. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(settings: HeraldSettings): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: HeraldConfig, useValue: settings }, AppRegistry],
      exports: [HeraldConfig, AppRegistry],
    };
  }
}
