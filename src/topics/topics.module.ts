import { Module } from '@nestjs/common';
import { ChannelsModule } from '../channels/channels.module.js';
import { TopicAuthorizer } from './topic-authorizer.service.js';
import { TopicsCodec } from './topics.codec.js';
import { TopicsGateway } from './topics.gateway.js';

/** `/ws/topics`: RoadRunner's join/leave protocol over the shared channel space. */
@Module({ imports: [ChannelsModule], providers: [TopicsGateway, TopicsCodec, TopicAuthorizer] })
export class TopicsModule {}
