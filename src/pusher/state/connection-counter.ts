/**
 * Live connections per app across the cluster (every protocol), for the per-app `maxConnections`
 * limit. A check-then-attach may overshoot by the number of simultaneous upgrades; never undershoots.
 */
export interface ConnectionCounter {
  /** Returns the count after the increment. */
  increment(app: string): Promise<number>;
  /** Returns the count after the decrement (never below 0). */
  decrement(app: string): Promise<number>;
  count(app: string): Promise<number>;
}
