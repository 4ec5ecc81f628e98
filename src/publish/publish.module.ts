import { Module } from '@nestjs/common';
import { MessagesController } from './messages.controller.js';
import { RevocationController } from './revocation.controller.js';

/** REST endpoints for backends (API key): publish, presence queries, revocation. */
@Module({ controllers: [MessagesController, RevocationController] })
export class PublishModule {}
