import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { CLUSTER_TRANSPORT, type ClusterTransport } from '../cluster/cluster.transport.js';
import { LifecycleState } from './lifecycle-state.service.js';

/** Kubernetes probes in terminus's JSON shape. */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly state: LifecycleState,
    @Inject(CLUSTER_TRANSPORT) private readonly transport: ClusterTransport,
  ) {}

  /** 200 while the process runs. */
  @Get('live')
  @ApiOperation({ summary: 'Liveness probe: 200 while the process runs' })
  @HealthCheck()
  live() {
    return this.health.check([() => this.indicators.check('process').up({ pid: process.pid })]);
  }

  /** 200 when accepting traffic; 503 while starting, draining, or when the cluster transport is down. */
  @Get('ready')
  @ApiOperation({ summary: 'Readiness probe: 503 while starting, draining, or when the cluster transport is down' })
  @HealthCheck()
  ready() {
    return this.health.check([
      () => {
        const session = this.indicators.check('lifecycle');
        return this.state.phase === 'ready' ? session.up({ phase: this.state.phase }) : session.down({ phase: this.state.phase });
      },
      () => {
        const session = this.indicators.check('transport');
        const status = this.transport.health();
        return status.up ? session.up({ kind: this.transport.kind, ...status.details }) : session.down({ kind: this.transport.kind, ...status.details });
      },
    ]);
  }
}
