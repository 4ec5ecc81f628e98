// Coverage-guided target for the /ws/topics frame parser (parseTopicsFrame).
import { parseTopicsFrame, topicFrame } from '../.cache/fuzz-build/src/topics/topics.frames.js';
import { check } from './support.mjs';

export function fuzz(data) {
  const text = data.toString('utf8');
  const parsed = parseTopicsFrame(text, 200, 64);
  if (parsed.ok) {
    check(['join', 'leave', 'headers'].includes(parsed.frame.command), 'unknown command accepted', text);
    if (parsed.frame.command !== 'headers') check(parsed.frame.topics.length > 0 && parsed.frame.topics.every((t) => typeof t === 'string'), 'bad topics accepted', text);
  } else if (parsed.command === null) {
    topicFrame('#error', parsed.message);
  } else {
    topicFrame(parsed.command === 'join' ? '#join' : '#leave', parsed.topics);
  }
}
