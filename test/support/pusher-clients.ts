import { createRequire } from 'node:module';
import { ConnectionRegistry } from '../../src/connections/connection-registry.service.js';
import { eventually } from './eventually.js';
import type { RunningApp } from './start-app.js';

/**
 * The real Pusher clients under Node: pusher-js 8 (CJS build, faye-websocket underneath), the `pusher`
 * server SDK (publisher, signer, webhook verifier) and tweetnacl for encrypted channels.
 */
const require = createRequire(import.meta.url);

/* eslint-disable @typescript-eslint/no-explicit-any -- the CJS clients ship loose typings */
export const PusherJs: any = require('pusher-js');
export const PusherServer: any = require('pusher');
export const nacl: any = require('tweetnacl');

export const APP = { appId: 'app-id', key: 'app-key', secret: 'app-secret' };

/** A `pusher` SDK instance pointed at the running app. */
export function serverSdk(server: RunningApp, app = APP, extra: Record<string, unknown> = {}): any {
  return new PusherServer({ ...app, host: '127.0.0.1', port: server.port, useTLS: false, ...extra });
}

export interface ClientOptions {
  userId?: string;
  userInfo?: Record<string, unknown>;
  watchlist?: string[];
  key?: string;
  sdk?: any;
}

/** A pusher-js client with in-process channel and user authorization (signed by the SDK). */
export function pusherClient(server: RunningApp, options: ClientOptions = {}): any {
  const sdk = options.sdk ?? serverSdk(server);
  const userId = options.userId ?? '1';
  return new PusherJs(options.key ?? APP.key, {
    cluster: 'mt1',
    wsHost: '127.0.0.1',
    wsPort: server.port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    nacl,
    channelAuthorization: {
      customHandler: ({ socketId, channelName }: { socketId: string; channelName: string }, cb: (e: unknown, r: unknown) => void) => {
        const presence = channelName.startsWith('presence-') ? { user_id: userId, user_info: options.userInfo ?? { name: `U${userId}` } } : undefined;
        cb(null, sdk.authorizeChannel(socketId, channelName, presence));
      },
    },
    userAuthentication: {
      customHandler: ({ socketId }: { socketId: string }, cb: (e: unknown, r: unknown) => void) => {
        cb(null, sdk.authenticateUser(socketId, { id: userId, ...(options.watchlist && { watchlist: options.watchlist }) }));
      },
    },
  });
}

/** Resolves with the first call of `bind(event)` on an emitter (channel, connection, user, watchlist). */
export function once<T = any>(emitter: any, event: string, timeoutMs = 3000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.unbind(event, handler);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for "${event}"`));
    }, timeoutMs);
    const handler = (data: T) => {
      clearTimeout(timer);
      emitter.unbind(event, handler);
      resolve(data);
    };
    emitter.bind(event, handler);
  });
}

/** Waits until a pusher-js client is connected and returns its socket id. */
export async function connected(client: any, timeoutMs = 3000): Promise<string> {
  if (client.connection.state !== 'connected') await once(client.connection, 'connected', timeoutMs);
  return client.connection.socket_id as string;
}

/** Subscribes and waits for `pusher:subscription_succeeded`; returns the channel. */
export async function subscribed(client: any, name: string, timeoutMs = 3000): Promise<any> {
  const channel = client.subscribe(name);
  if (!channel.subscribed) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`subscription to ${name} timed out`)), timeoutMs);
      channel.bind('pusher:subscription_succeeded', () => {
        clearTimeout(timer);
        resolve();
      });
      channel.bind('pusher:subscription_error', (error: unknown) => {
        clearTimeout(timer);
        reject(new Error(`subscription to ${name} failed: ${JSON.stringify(error)}`));
      });
    });
  }
  return channel;
}

/**
 * Disconnects pusher-js clients and waits until the server has seen every socket go (pusher-js turns
 * `disconnected` before the close handshake ends, and closing the app mid-handshake leaves a socket
 * waiting for its 30 s close timeout).
 */
export async function disconnectAll(clients: any[], server?: RunningApp): Promise<void> {
  await disconnectClients(clients);
  if (server) await eventually(() => expect(server.app.get(ConnectionRegistry).size).toBe(0));
}

/** Ends a test's app: its raw ws clients, its pusher-js clients (until the registry is empty), then the app itself. */
export async function closeAppAndClients(server: RunningApp, pushers: any[]): Promise<void> {
  try {
    await Promise.all(server.clients.map((client) => client.close()));
    await disconnectAll(pushers.splice(0), server);
  } finally {
    await server.close();
  }
}

async function disconnectClients(clients: any[]): Promise<void> {
  await Promise.all(
    clients.map(async (client) => {
      if (client.connection.state === 'disconnected' || client.connection.state === 'failed') return;
      const done = once(client.connection, 'disconnected', 3000).catch(() => undefined);
      client.disconnect();
      await done;
    }),
  );
}

/**
 * pusher-js answers a server-initiated close by calling faye-websocket's `close()` again on the closed
 * socket, which starts a 30 s close timer nothing clears (faye `API.close`). Harmless in an app, but it
 * keeps jest alive: call this with the socket taken before the close, once the close was observed.
 */
export function fayeSocketOf(client: any): any {
  return client.connection.connection?.transport?.socket;
}

export function clearFayeCloseTimer(socket: any): void {
  if (socket?._closeTimer) clearTimeout(socket._closeTimer);
}
