import { Module } from '@nestjs/common';
import { BusCodec } from './bus.codec.js';
import { BusGateway } from './bus.gateway.js';

/** The `/ws/bus` protocol: gateway + codec over the shared core. */
@Module({ providers: [BusGateway, BusCodec] })
export class BusModule {}
