import { Global, Module } from '@nestjs/common';
import { InboundFrames } from './inbound-frames.js';

/** What every gateway shares below its codec: the inbound frame queue (fairness + the frame error boundary). */
@Global()
@Module({
  providers: [InboundFrames],
  exports: [InboundFrames],
})
export class WsModule {}
