import { Injectable } from '@nestjs/common';

export type Phase = 'starting' | 'ready' | 'draining';

/** Whether this node takes traffic: readiness is 503 while starting or draining. */
@Injectable()
export class LifecycleState {
  private current: Phase = 'starting';
  private listening = false;
  private readonly gates = new Set<Promise<unknown>>();

  get phase(): Phase {
    return this.current;
  }

  get acceptingConnections(): boolean {
    return this.current !== 'draining';
  }

  /** The server listens; readiness turns up once every `holdUntil` gate settled too. */
  markReady(): void {
    this.listening = true;
    this.promote();
  }

  /** Keeps readiness at 503 until `gate` settles (e.g. the shared denylist is loaded from the other nodes). */
  holdUntil(gate: Promise<unknown>): void {
    this.gates.add(gate);
    // Settled either way: `finally` would hand a rejected gate's rejection to a promise nobody handles.
    const settled = () => {
      this.gates.delete(gate);
      this.promote();
    };
    gate.then(settled, settled);
  }

  private promote(): void {
    if (this.current === 'starting' && this.listening && this.gates.size === 0) this.current = 'ready';
  }

  markDraining(): void {
    this.current = 'draining';
  }
}
