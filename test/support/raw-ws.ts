import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** A client-to-server text frame (masked, as RFC 6455 requires of clients). */
export function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.alloc(header + 4 + length);
  frame[0] = 0x81;
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  mask.copy(frame, header);
  for (let i = 0; i < length; i++) frame[header + 4 + i] = payload[i] ^ mask[i & 3];
  return frame;
}

/**
 * A WebSocket client on a raw TCP socket that completes the handshake and then never reads
 * (`socket.pause()`): the paused reader of the backpressure cases. It can still send frames.
 */
export class PausedWsClient {
  private constructor(readonly socket: Socket) {}

  static async open(port: number, path: string, timeoutMs = 5000): Promise<PausedWsClient> {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    const key = randomBytes(16).toString('base64');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no handshake answer for ${path}`)), timeoutMs);
      let head = '';
      const onData = (chunk: Buffer) => {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.pause();
        if (!head.startsWith('HTTP/1.1 101')) reject(new Error(`handshake refused: ${head.slice(0, end)}`));
        else resolve();
      };
      socket.on('data', onData);
      socket.once('connect', () =>
        socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`),
      );
    });
    return new PausedWsClient(socket);
  }

  send(value: unknown): void {
    this.socket.write(maskedTextFrame(typeof value === 'string' ? value : JSON.stringify(value)));
  }

  /**
   * Starts reading again and parses the server's frames until `done(texts)` holds or a close frame
   * arrives; resolves with the text frames received and the close code (null when not closed).
   */
  resume(done: (texts: string[]) => boolean = () => false, timeoutMs = 10_000): Promise<{ texts: string[]; code: number | null }> {
    return new Promise((resolve, reject) => {
      const texts: string[] = [];
      const timer = setTimeout(() => reject(new Error(`no close frame or expected frames (${texts.length} text frames read)`)), timeoutMs);
      let buffer: Buffer = Buffer.alloc(0);
      const finish = (code: number | null) => {
        clearTimeout(timer);
        this.socket.off('data', onData);
        resolve({ texts, code });
      };
      const onData = (chunk: Buffer) => {
        buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
        for (;;) {
          if (buffer.length < 2) return;
          const opcode = buffer[0] & 0x0f;
          let length = buffer[1] & 0x7f;
          let offset = 2;
          if (length === 126) {
            if (buffer.length < 4) return;
            length = buffer.readUInt16BE(2);
            offset = 4;
          } else if (length === 127) {
            if (buffer.length < 10) return;
            length = Number(buffer.readBigUInt64BE(2));
            offset = 10;
          }
          if (buffer.length < offset + length) return;
          const payload = buffer.subarray(offset, offset + length);
          buffer = buffer.subarray(offset + length);
          if (opcode === 0x8) return finish(payload.length >= 2 ? payload.readUInt16BE(0) : 1005);
          if (opcode === 0x1) {
            texts.push(payload.toString('utf8'));
            if (done(texts)) return finish(null);
          }
        }
      };
      this.socket.on('data', onData);
      this.socket.resume();
    });
  }

  /** Resolves once the server closed or reset the TCP connection. */
  ended(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  destroy(): void {
    this.socket.destroy();
  }
}
