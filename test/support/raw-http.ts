import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** What a raw TCP exchange ended with: the bytes received and whether the server closed the socket. */
export interface RawReply {
  text: string;
  closed: boolean;
}

/** The request head of a WebSocket upgrade for `target` (any bytes: the target is not validated here). */
export function upgradeHead(target: string, headers: Record<string, string> = {}): string {
  const all: Record<string, string> = {
    Host: '127.0.0.1',
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    ...headers,
  };
  return `GET ${target} HTTP/1.1\r\n${Object.entries(all).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
}

/** Opens a raw TCP connection to 127.0.0.1:port. */
export function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * Writes `bytes` and collects the reply until the server closes, `until` matches what arrived, or `timeoutMs`
 * passes (then `closed` is false). Always destroys the socket.
 */
export async function rawExchange(port: number, bytes: string | Buffer, until: (text: string) => boolean = () => false, timeoutMs = 5_000): Promise<RawReply> {
  const socket = await rawSocket(port);
  return new Promise((resolve) => {
    let text = '';
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (until(text)) finish(false);
    });
    socket.once('close', () => finish(true));
    socket.write(bytes);
  });
}

/** The HTTP status of a reply (`HTTP/1.1 400 …` → 400), or undefined when it does not start with a status line. */
export function statusOf(text: string): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3}) [^\r\n]*\r\n/.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** A complete response head arrived (status line … blank line). */
export function hasHead(text: string): boolean {
  return text.includes('\r\n\r\n');
}

/** A client→server WebSocket frame (masked, as RFC 6455 requires of clients). */
export function maskedFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const length = payload.length;
  const head =
    length < 126
      ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | length])
      : length < 65536
        ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, length >> 8, length & 255])
        : Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 127, 0, 0, 0, 0, (length >>> 24) & 255, (length >>> 16) & 255, (length >>> 8) & 255, length & 255]);
  const mask = randomBytes(4);
  const body = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) body[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

/** Resolves when `socket` closes (or after `timeoutMs`, with false). */
export function closed(socket: Socket, timeoutMs: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
