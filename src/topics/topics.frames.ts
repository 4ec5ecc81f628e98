import { channelNameProblem } from '../channels/channel-name.js';
import { isRecord, parseJson } from '../common/json.js';

/** Topics per join/leave frame. */
export const MAX_TOPICS_PER_FRAME = 100;

/** RoadRunner's reply topics; `#error` and `#lagged` are Herald's (RoadRunner logs and drops instead). */
export const TOPIC_JOINED = '@join';
export const TOPIC_JOIN_DENIED = '#join';
export const TOPIC_LEFT = '@leave';
export const TOPIC_LEAVE_FAILED = '#leave';
export const TOPIC_ERROR = '#error';
export const TOPIC_LAGGED = '#lagged';

/** A client frame (RoadRunner's `websockets.v1.Message` as JSON). `broker` is accepted and ignored. */
export type TopicsCommand =
  | { command: 'join'; topics: string[] }
  | { command: 'leave'; topics: string[] }
  | { command: 'headers' };

export type TopicsParse =
  | { ok: true; frame: TopicsCommand }
  /** A join/leave whose topics are unusable: answered `#join` / `#leave` with what was sent. */
  | { ok: false; command: 'join' | 'leave'; topics: string[]; message: string }
  /** Not a command at all: answered `#error`. */
  | { ok: false; command: null; message: string };

/** `{"topic":…,"payload":…}` with any JSON payload. */
export function topicFrame(topic: string, payload: unknown): string {
  return `{"topic":${JSON.stringify(topic)},"payload":${JSON.stringify(payload)}}`;
}

/** Narrows an inbound frame; says exactly what was wrong. */
export function parseTopicsFrame(raw: string, maxChannelNameLength: number, maxDepth: number): TopicsParse {
  const parsed = parseJson(raw, { maxDepth });
  if (!parsed.ok) return { ok: false, command: null, message: parsed.problem === 'invalid' ? 'frame is not valid JSON' : `frame ${parsed.message}` };
  if (!isRecord(parsed.value)) {
    return { ok: false, command: null, message: 'frame must be a JSON object {command, broker, topics, payload}' };
  }
  const frame = parsed.value;
  const command = frame.command;
  if (command === 'headers') return { ok: true, frame: { command } };
  if (command !== 'join' && command !== 'leave') {
    return { ok: false, command: null, message: `unknown command ${JSON.stringify(command ?? null)?.slice(0, 60)}; expected join, leave or headers` };
  }
  const rawTopics = frame.topics;
  const given = Array.isArray(rawTopics) ? rawTopics.filter((topic): topic is string => typeof topic === 'string') : [];
  if (!Array.isArray(rawTopics) || given.length !== rawTopics.length || given.length === 0) {
    return { ok: false, command, topics: given, message: '"topics" must be a non-empty array of strings' };
  }
  if (given.length > MAX_TOPICS_PER_FRAME) {
    return { ok: false, command, topics: given, message: `at most ${MAX_TOPICS_PER_FRAME} topics per frame` };
  }
  for (const topic of given) {
    const problem = channelNameProblem(topic, maxChannelNameLength);
    if (problem !== null) return { ok: false, command, topics: given, message: `topic ${JSON.stringify(topic.slice(0, 60))} ${problem}` };
  }
  return { ok: true, frame: { command, topics: [...new Set(given)] } };
}
