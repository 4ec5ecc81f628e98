import { isRecord, type PeerReply } from './nats-peers.service.js';

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

export function parseGroupAnswers(replies: PeerReply[]): PeerGroup[] {
  const out: PeerGroup[] = [];
  for (const reply of replies) {
    const body = reply.body;
    if (!isRecord(body) || !Array.isArray(body.members) || !isRecord(body.left)) continue;
    const members: GroupAnswer['members'] = [];
    for (const member of body.members) {
      if (isRecord(member) && typeof member.userId === 'string' && typeof member.since === 'number') members.push({ userId: member.userId, info: member.info, since: member.since });
    }
    const left: Record<string, number> = {};
    for (const [userId, at] of Object.entries(body.left)) if (typeof at === 'number') left[userId] = at;
    out.push({ node: reply.node, answer: { members, left } });
  }
  return out;
}

/** `(time, node)` pairs give every node the same total order, whatever their clocks say. */
function before(aTime: number, aNode: string, bTime: number, bNode: string): boolean {
  return aTime < bTime || (aTime === bTime && aNode < bNode);
}

/**
 * This node's share of a cluster-wide membership (presence members per channel, signed-in users per
 * app) plus the two cluster decisions built on the peers' answers:
 * - first join anywhere: no peer has the user with an earlier `(since, node)`;
 * - last leave anywhere: no peer has the user, and no peer saw it leave later than we did.
 * Ties between concurrent joins (or leaves) on two nodes go to exactly one of them, so `member_added`
 * / `member_removed` fire once. Idempotent per connection id.
 */
export class NatsMembershipBook {
  private readonly groups = new Map<string, Map<string, LocalMember>>();
  private readonly tombstones = new Map<string, Map<string, number>>();
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

  /** This node's answer for `group` (what peers ask), optionally only about some users. */
  answer(group: string, only?: ReadonlySet<string>): GroupAnswer {
    this.prune(group);
    const wanted = ([userId]: [string, unknown]) => only === undefined || only.has(userId);
    const members = [...(this.groups.get(group) ?? [])].filter(wanted).map(([userId, entry]) => ({ userId, info: entry.info, since: entry.since }));
    return { members, left: Object.fromEntries([...(this.tombstones.get(group) ?? [])].filter(wanted)) };
  }

  firstAnywhere(userId: string, since: number, peers: PeerGroup[]): boolean {
    return !peers.some((peer) => peer.answer.members.some((member) => member.userId === userId && before(member.since, peer.node, since, this.nodeId)));
  }

  lastAnywhere(userId: string, leftAt: number, peers: PeerGroup[]): boolean {
    return !peers.some((peer) => {
      if (peer.answer.members.some((member) => member.userId === userId)) return true;
      const theirs = peer.answer.left[userId];
      return theirs !== undefined && before(leftAt, this.nodeId, theirs, peer.node);
    });
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
