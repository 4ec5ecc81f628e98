import { Injectable } from '@nestjs/common';

export type Phase = 'starting' | 'ready' | 'draining';

/** Whether this node takes traffic: readiness is 503 while starting or draining. */
@Injectable()
export class LifecycleState {
  private current: Phase = 'starting';

  get phase(): Phase {
    return this.current;
  }

  get acceptingConnections(): boolean {
    return this.current !== 'draining';
  }

  markReady(): void {
    if (this.current === 'starting') this.current = 'ready';
  }

  markDraining(): void {
    this.current = 'draining';
  }
}
