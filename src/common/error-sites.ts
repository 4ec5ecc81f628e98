/**
 * Where an internal error was caught (`herald_internal_errors_total{where}`); a closed set keeps the label bounded.
 * - `upgrade`: the HTTP `upgrade` listener, admission, a gateway's handshake (`handleConnection`);
 * - `frame`: a socket's inbound frame handler (every protocol);
 * - `fanout`: delivery of one envelope (recipient resolution, a codec's `encode`, a per-recipient `render`);
 * - `subscriber`: an RxJS subscriber (revocation listeners, registry events, tenant streams);
 * - `timer`: a timer callback (liveness and ping sweeps, auth timeouts);
 * - `broker`: a Redis/NATS message handler;
 * - `task`: a fire-and-forget promise (a background read, a webhook check) that rejected;
 * - `http`: the metrics port's request handler.
 */
export type ErrorSite = 'upgrade' | 'frame' | 'fanout' | 'subscriber' | 'timer' | 'broker' | 'task' | 'http';

/** Every site, so each series exists at 0 from the first scrape. */
export const ERROR_SITES: readonly ErrorSite[] = ['upgrade', 'frame', 'fanout', 'subscriber', 'timer', 'broker', 'task', 'http'];
