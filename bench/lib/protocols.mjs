// Wire details of each protocol the bench speaks, client side and publisher side, for Herald and for the
// raw-ws baseline (which imitates just enough of each protocol that the same clients work against it).
import { createHash, createHmac } from 'node:crypto';
import { signJwt } from './jwt.mjs';

/** The embedded development app of Herald (issue 2). */
export const DEV_APP = {
  id: 'app-id',
  key: 'app-key',
  secret: 'app-secret',
  apiKey: 'app-api-key',
  audience: 'broadcaster',
};

export const CHANNEL = 'bench';

/**
 * Latency stamp: every published payload carries `bts` (monotonic µs at publish). Pusher delivers the
 * payload as a JSON string, so the key may appear escaped (`\"bts\":`).
 */
const STAMP = /bts\\?":(\d+)/;
export const readStamp = (text) => {
  const match = STAMP.exec(text);
  return match ? Number(match[1]) : NaN;
};

/**
 * Client side. `marker` identifies a delivery cheaply (Buffer#indexOf on the raw frame, no parse);
 * `onOpen` returns true when the connection is ready at once; `onControl` handles any other frame and
 * returns 'ready', an Error (the server refused us), or undefined.
 */
export const clientProtocols = {
  bus: {
    marker: '"cmd":"bench"',
    path: (i, app) =>
      `/ws/bus?token=${signJwt({ sub: `user-${i}`, aud: app.audience }, app.secret)}`,
    onOpen: () => true,
    onControl: (ws, text) => {
      const frame = safeParse(text);
      if (frame?.cmd === 'error') return new Error(`bus error frame: ${text.slice(0, 200)}`);
      return undefined;
    },
    check: (frame) => frame.cmd === 'bench' && typeof frame.id === 'string' && frame.id.length === 24 && frame.data,
  },
  pusher: {
    marker: '"event":"bench"',
    path: (_i, app) => `/app/${app.key}?protocol=7&client=js&version=8.6.0`,
    onOpen: () => false,
    onControl: (ws, text) => {
      const frame = safeParse(text);
      switch (frame?.event) {
        case 'pusher:connection_established':
          ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: CHANNEL } }));
          return undefined;
        case 'pusher_internal:subscription_succeeded':
          return 'ready';
        case 'pusher:ping':
          ws.send('{"event":"pusher:pong","data":{}}');
          return undefined;
        case 'pusher:error':
        case 'pusher:subscription_error':
          return new Error(`pusher refused: ${text.slice(0, 200)}`);
        default:
          return undefined;
      }
    },
    check: (frame) => frame.event === 'bench' && frame.channel === CHANNEL && typeof frame.data === 'string',
  },
  rpc: {
    marker: '"method":"broadcast"',
    path: (i, app) =>
      `/ws/rpc?token=${signJwt(
        { sub: `user-${i}`, aud: app.audience, scope: ['subscribe', 'publish'], authorizedChannels: [CHANNEL] },
        app.secret,
      )}`,
    onOpen: (ws) => {
      ws.send(JSON.stringify({ id: 1, method: 'subscribe', params: { channel: CHANNEL } }));
      return false;
    },
    onControl: (ws, text) => {
      const frame = safeParse(text);
      if (frame?.requestId === 1) {
        return frame.result ? 'ready' : new Error(`rpc subscribe refused: ${text.slice(0, 200)}`);
      }
      return undefined;
    },
    check: (frame) => frame.method === 'broadcast' && frame.params?.channel === CHANNEL && frame.params.payload,
  },
};

function safeParse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Publisher side: the HTTP request that publishes `data` once. `kind` is 'herald' or 'baseline'
 * (the baseline takes the raw data JSON at POST /publish whatever the protocol).
 */
export function publishRequest(kind, protocol, data, app = DEV_APP) {
  const json = JSON.stringify(data);
  if (kind === 'baseline') return { path: '/publish', body: json, headers: {} };
  const bearer = { authorization: `Bearer ${app.apiKey}` };
  switch (protocol) {
    case 'bus':
      return { path: '/api/messages', body: `{"cmd":"bench","data":${json}}`, headers: bearer };
    case 'rpc':
      return { path: '/api/publish', body: `{"channel":"${CHANNEL}","event":"bench","payload":${json}}`, headers: bearer };
    case 'pusher': {
      const body = JSON.stringify({ name: 'bench', channel: CHANNEL, data: json });
      const path = `/apps/${app.id}/events`;
      return { path: `${path}?${pusherQuery('POST', path, body, app)}`, body, headers: {} };
    }
    default:
      throw new Error(`unknown protocol ${protocol}`);
  }
}

/** The Pusher REST signature (auth_version 1.0) as a query string. */
export function pusherQuery(method, path, body, app = DEV_APP) {
  const params = {
    auth_key: app.key,
    auth_timestamp: String(Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
    body_md5: createHash('md5').update(body).digest('hex'),
  };
  const query = Object.keys(params)
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
  const signature = createHmac('sha256', app.secret).update(`${method}\n${path}\n${query}`).digest('hex');
  return `${query}&auth_signature=${signature}`;
}
