import { isRecord } from '../common/json.js';
import type { PeerReply } from './nats-peers.service.js';
import { dictionary } from '../common/dictionary.js';
import { keyOf } from '../channels/channel-key.js';

/** How long a node remembers that a user left a group here (long enough for any concurrent leave elsewhere to ask). */
const TOMBSTONE_MS = 30_000;

interface LocalMember {
  /** When this node's first connection of the user joined (Date.now() here). */
  since: number;
  info: unknown;
  connections: Set<string>;
}

/** One node's answer about a group: its members (with `since`) and recent departures. */
export interface GroupAnswer {
  members: { userId: string; info?: unknown; since: number }[];
  /** user → when its last connection here left. */
  left: Record<string, number>;
}

/** What a connection's join changed on this node. */
export interface LocalJoin {
  /** True when this was the user's first connection in the group on this node. */
  firstHere: boolean;
  since: number;
}

/** A peer's view of one group, narrowed from the wire. */
export interface PeerGroup {
  node: string;
  answer: GroupAnswer;
}

function holders(userId: string, peers: PeerGroup[]): Holder[] {
  return peers.flatMap((peer) => peer.answer.members.filter((member) => member.userId === userId).map((member) => ({ node: peer.node, since: member.since })));
}

export function parseGroupAnswers(replies: PeerReply[]): PeerGroup[] {
  const out: PeerGroup[] = [];
  for (const reply of replies) {
    const body = reply.body;
    if (!isRecord(body) || !Array.isArray(body.members) || !isRecord(body.left)) continue;
    const members: GroupAnswer['members'] = [];
    for (const member of body.members) {
      if (isRecord(member) && typeof member.userId === 'string' && typeof member.since === 'number') members.push({ userId: member.userId, info: member.info, since: member.since });
    }
    const left = dictionary<number>();
    for (const [userId, at] of Object.entries(body.left)) if (typeof at === 'number') left[userId] = at;
    out.push({ node: reply.node, answer: { members, left } });
  }
  return out;
}

/** `(time, node)` pairs give every node the same total order, whatever their clocks say. */
function before(aTime: number, aNode: string, bTime: number, bNode: string): boolean {
  return aTime < bTime || (aTime === bTime && aNode < bNode);
}

/** How long an answer given to a peer's decision question matters (longer than any question takes). */
const HEARD_MS = 5_000;

/**
 * What this node answered each peer's latest decision question about a member: whether it held the
 * member then. This is what makes concurrent decisions causal instead of a race on clocks: a peer
 * told "absent" decided without us (so it may be first, and we are not); a peer told "present"
 * deferred to us (so its departure does not make us "not last").
 */
export class AnswerLog {
  private readonly answers = new Map<string, { present: boolean; at: number }>();

  record(group: string, member: string, asker: string, present: boolean): void {
    const now = Date.now();
    if (this.answers.size >= 10_000) for (const [key, answer] of this.answers) if (answer.at < now - HEARD_MS) this.answers.delete(key);
    this.answers.set(keyOf(group, member, asker), { present, at: now });
  }

  heard(group: string, member: string, asker: string): boolean | undefined {
    const answer = this.answers.get(keyOf(group, member, asker));
    return answer && answer.at >= Date.now() - HEARD_MS ? answer.present : undefined;
  }
}

/** A peer that holds the member now, since when (its clock). */
export interface Holder {
  node: string;
  since: number;
}

/** A peer whose last hold of the member ended at `at` (its clock). */
export interface Departure {
  node: string;
  at: number;
}

/**
 * First hold anywhere: not when a holder was told we were absent (it decided first without us), nor
 * when a holder that saw us came before us in `(since, node)` order (both sides compare the same pair).
 */
export function decideFirst(me: string, since: number, holders: Holder[], heard: (node: string) => boolean | undefined): boolean {
  return !holders.some((holder) => heard(holder.node) === false || before(holder.since, holder.node, since, me));
}

/**
 * Last release anywhere: nobody holds it, and no peer that left later counts against us, except one
 * that was told we were present (it deferred to us).
 */
export function decideLast(me: string, leftAt: number, holders: Holder[], departures: Departure[], heard: (node: string) => boolean | undefined): boolean {
  if (holders.length > 0) return false;
  return !departures.some((departure) => heard(departure.node) !== true && before(leftAt, me, departure.at, departure.node));
}

/**
 * This node's share of a cluster-wide membership (presence members per channel, signed-in users per
 * app) plus the two cluster decisions built on the peers' answers (`decideFirst`, `decideLast`).
 * Concurrent joins (or leaves) of one user on two nodes go to exactly one of them, so `member_added`
 * / `member_removed` fire once. Idempotent per connection id.
 */
export class NatsMembershipBook {
  private readonly groups = new Map<string, Map<string, LocalMember>>();
  private readonly tombstones = new Map<string, Map<string, number>>();
  private readonly log = new AnswerLog();
  private lastSweep = Date.now();

  constructor(private readonly nodeId: string) {}

  /** Adds a connection; `undefined` when it was already in. */
  join(group: string, userId: string, connectionId: string, info: unknown): LocalJoin | undefined {
    let members = this.groups.get(group);
    if (!members) this.groups.set(group, (members = new Map()));
    const existing = members.get(userId);
    if (existing) {
      if (existing.connections.has(connectionId)) return undefined;
      existing.connections.add(connectionId);
      return { firstHere: false, since: existing.since };
    }
    const since = Date.now();
    members.set(userId, { since, info, connections: new Set([connectionId]) });
    this.tombstones.get(group)?.delete(userId);
    return { firstHere: true, since };
  }

  /** Removes a connection; the departure time when it was the user's last one here, else undefined. */
  leave(group: string, userId: string, connectionId: string): number | undefined {
    const members = this.groups.get(group);
    const entry = members?.get(userId);
    if (!members || !entry || !entry.connections.delete(connectionId) || entry.connections.size > 0) return undefined;
    members.delete(userId);
    if (members.size === 0) this.groups.delete(group);
    const at = Date.now();
    if (at - this.lastSweep > TOMBSTONE_MS) this.sweep(at);
    let left = this.tombstones.get(group);
    if (!left) this.tombstones.set(group, (left = new Map()));
    left.set(userId, at);
    return at;
  }

  /** Takes a join back without leaving a tombstone (a refused join never happened). */
  undo(group: string, userId: string, connectionId: string): void {
    const members = this.groups.get(group);
    const entry = members?.get(userId);
    if (!members || !entry) return;
    entry.connections.delete(connectionId);
    if (entry.connections.size === 0) members.delete(userId);
    if (members.size === 0) this.groups.delete(group);
  }

  has(group: string, userId: string): boolean {
    return this.groups.get(group)?.has(userId) ?? false;
  }

  /**
   * This node's answer for `group` (what peers ask), optionally only about some users. A decision
   * question (`decide`: the user a peer is deciding about, `asker`: that peer) is remembered.
   */
  answer(group: string, only?: ReadonlySet<string>, decide?: { userId: string; asker: string }): GroupAnswer {
    this.prune(group);
    if (decide) this.log.record(group, decide.userId, decide.asker, this.has(group, decide.userId));
    const wanted = ([userId]: [string, unknown]) => only === undefined || only.has(userId);
    const members = [...(this.groups.get(group) ?? [])].filter(wanted).map(([userId, entry]) => ({ userId, info: entry.info, since: entry.since }));
    return { members, left: Object.fromEntries([...(this.tombstones.get(group) ?? [])].filter(wanted)) };
  }

  firstAnywhere(group: string, userId: string, since: number, peers: PeerGroup[]): boolean {
    return decideFirst(this.nodeId, since, holders(userId, peers), (node) => this.log.heard(group, userId, node));
  }

  lastAnywhere(group: string, userId: string, leftAt: number, peers: PeerGroup[]): boolean {
    const departures = peers.flatMap((peer) => (peer.answer.left[userId] === undefined ? [] : [{ node: peer.node, at: peer.answer.left[userId] }]));
    return decideLast(this.nodeId, leftAt, holders(userId, peers), departures, (node) => this.log.heard(group, userId, node));
  }

  /** Members of the group over this node and the peers, each once, in join order. */
  union(group: string, peers: PeerGroup[]): { userId: string; info?: unknown; since: number }[] {
    const all = new Map<string, { userId: string; info?: unknown; since: number }>();
    for (const member of [...this.answer(group).members, ...peers.flatMap((peer) => peer.answer.members)]) {
      const seen = all.get(member.userId);
      if (!seen || member.since < seen.since) all.set(member.userId, member);
    }
    return [...all.values()].sort((a, b) => a.since - b.since);
  }

  private prune(group: string, now = Date.now()): void {
    const left = this.tombstones.get(group);
    if (!left) return;
    for (const [userId, at] of left) if (at < now - TOMBSTONE_MS) left.delete(userId);
    if (left.size === 0) this.tombstones.delete(group);
  }

  /** Tombstones of groups nobody asks about again would otherwise stay forever. */
  private sweep(now: number): void {
    this.lastSweep = now;
    for (const group of [...this.tombstones.keys()]) this.prune(group, now);
  }
}
