import { Injectable } from '@nestjs/common';
import type { OnlineUsers } from './online-users.js';

/** Single-node `OnlineUsers`: app → user → its signed-in connections. */
@Injectable()
export class MemoryOnlineUsers implements OnlineUsers {
  private readonly apps = new Map<string, Map<string, Set<string>>>();

  async add(app: string, userId: string, connectionId: string): Promise<boolean> {
    let users = this.apps.get(app);
    if (!users) this.apps.set(app, (users = new Map()));
    let connections = users.get(userId);
    if (!connections) users.set(userId, (connections = new Set()));
    const cameOnline = connections.size === 0;
    connections.add(connectionId);
    return cameOnline;
  }

  async remove(app: string, userId: string, connectionId: string): Promise<boolean> {
    const users = this.apps.get(app);
    const connections = users?.get(userId);
    if (!users || !connections || !connections.delete(connectionId)) return false;
    if (connections.size > 0) return false;
    users.delete(userId);
    return true;
  }

  async online(app: string, userIds: readonly string[]): Promise<Set<string>> {
    const users = this.apps.get(app);
    return new Set(userIds.filter((id) => users?.has(id)));
  }
}
