// Coverage-guided target for the /ws/bus frame parser (BusCodec.parse).
import { BusCodec } from '../.cache/fuzz-build/src/bus/bus.codec.js';
import { check, encodes } from './support.mjs';

const codec = new BusCodec();

export function fuzz(data) {
  const text = data.toString('utf8');
  const parsed = codec.parse(text);
  if (parsed.ok) {
    check(typeof parsed.frame.id === 'string' && typeof parsed.frame.cmd === 'string', 'ill-typed frame accepted', text);
    encodes(parsed.frame.data, text);
  } else {
    check(typeof parsed.message === 'string' && (parsed.id === null || typeof parsed.id === 'string'), 'malformed refusal', text);
    codec.error(parsed.id, parsed.message);
  }
}
