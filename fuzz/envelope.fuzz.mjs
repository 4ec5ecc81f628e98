// Coverage-guided target for the cluster wire parser (parseEnvelope: Redis/NATS payloads from peers).
import { parseEnvelope, serializeEnvelope } from '../.cache/fuzz-build/src/cluster/envelope.wire.js';
import { check } from './support.mjs';

const TARGETS = new Set(['tenant', 'users', 'session', 'token', 'connections', 'channel', 'filter']);

export function fuzz(data) {
  const text = data.toString('utf8');
  const envelope = parseEnvelope(text);
  if (envelope === undefined) return;
  check(typeof envelope.id === 'string' && typeof envelope.tenant === 'string' && TARGETS.has(envelope.target.kind), 'ill-typed envelope accepted', text);
  const again = parseEnvelope(serializeEnvelope(envelope));
  check(again !== undefined && again.id === envelope.id, 'a parsed envelope does not round-trip', text);
}
