import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { MetricsService } from './metrics.service.js';

/** `GET /metrics` on the main port: Prometheus text format, unauthenticated like soketi's (restrict it at the network edge). */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  async scrape(@Res() response: Response): Promise<void> {
    const body = await this.metrics.metrics();
    response.type(this.metrics.contentType).send(body);
  }
}
