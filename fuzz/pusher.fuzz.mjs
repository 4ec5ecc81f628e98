// Coverage-guided target for the Pusher protocol's inbound frame parser (parseInbound).
import { errorFrame, parseInbound, pusherFrame } from '../.cache/fuzz-build/src/pusher/pusher.frames.js';
import { check } from './support.mjs';

export function fuzz(data) {
  const text = data.toString('utf8');
  const parsed = parseInbound(text, 64);
  if (parsed.ok) {
    check(typeof parsed.frame.event === 'string' && parsed.frame.event !== '', 'frame without an event accepted', text);
    check(parsed.frame.channel === undefined || typeof parsed.frame.channel === 'string', 'ill-typed channel accepted', text);
    pusherFrame(parsed.frame.event, parsed.frame.data, parsed.frame.channel);
  } else {
    check(typeof parsed.message === 'string', 'refusal without a message', text);
    errorFrame(parsed.message);
  }
}
