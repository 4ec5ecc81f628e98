import { Injectable } from '@nestjs/common';
import type { PresenceJoinResult, PresenceMember, PresenceStore } from './presence.store.js';
import { channelKey } from '../../channels/channel-key.js';

interface MemberEntry {
  info: unknown;
  connections: Set<string>;
}

/** Single-node `PresenceStore`: app → channel → user → its connections (Map keeps join order). */
@Injectable()
export class MemoryPresenceStore implements PresenceStore {
  private readonly channels = new Map<string, Map<string, MemberEntry>>();

  private key(app: string, channel: string): string {
    return channelKey(app, channel);
  }

  async join(app: string, channel: string, connectionId: string, member: PresenceMember, maxMembers: number): Promise<PresenceJoinResult> {
    const key = this.key(app, channel);
    let users = this.channels.get(key);
    const existing = users?.get(member.userId);
    if (existing) {
      existing.connections.add(connectionId);
      return { accepted: true, firstJoin: false };
    }
    if (maxMembers !== -1 && (users?.size ?? 0) >= maxMembers) return { accepted: false };
    if (!users) this.channels.set(key, (users = new Map()));
    users.set(member.userId, { info: member.userInfo, connections: new Set([connectionId]) });
    return { accepted: true, firstJoin: true };
  }

  async leave(app: string, channel: string, connectionId: string, userId: string): Promise<{ lastLeave: boolean }> {
    const key = this.key(app, channel);
    const users = this.channels.get(key);
    const entry = users?.get(userId);
    if (!users || !entry || !entry.connections.delete(connectionId)) return { lastLeave: false };
    if (entry.connections.size > 0) return { lastLeave: false };
    users.delete(userId);
    if (users.size === 0) this.channels.delete(key);
    return { lastLeave: true };
  }

  async members(app: string, channel: string): Promise<PresenceMember[]> {
    const users = this.channels.get(this.key(app, channel));
    if (!users) return [];
    return [...users].map(([userId, entry]) => ({ userId, userInfo: entry.info }));
  }

  async memberCount(app: string, channel: string): Promise<number> {
    return this.channels.get(this.key(app, channel))?.size ?? 0;
  }

  async isMember(app: string, channel: string, userId: string): Promise<boolean> {
    return this.channels.get(this.key(app, channel))?.has(userId) ?? false;
  }
}
