import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { LifecycleState } from './lifecycle-state.service.js';
import { ShutdownService } from './shutdown.service.js';

/** Liveness/readiness probes (terminus) and the drain sequence. */
@Global()
@Module({
  imports: [TerminusModule],
  controllers: [HealthController],
  providers: [LifecycleState, ShutdownService],
  exports: [LifecycleState, ShutdownService],
})
export class HealthModule {}
