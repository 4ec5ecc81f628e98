// A deliberately minimal WebSocket client for the subscribers. On 2 cores the clients' CPU competes with
// the server's, and the `ws` client library spends ~5 µs of client CPU per received message (measured: 90 %
// of a core at 160k deliveries/s), so it would cap the figures. This client reads through `net`'s `onread`
// into ONE buffer shared by every socket of the process (no Buffer or stream event per read), parses frame
// headers in place and hands the payload range to the caller without copying. It answers pings and close
// frames and masks what it sends (RFC 6455 §5.3). No extensions, no fragmentation (servers send these small
// frames whole).
import net from 'node:net';
import { randomBytes } from 'node:crypto';

const shared = Buffer.allocUnsafe(256 * 1024);

/** Opens `url` (ws://host:port/path?query); rejects with a readable reason if the upgrade is refused. */
export function connectRaw(url, timeoutMs) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    let ws;
    let head = '';
    const socket = net.connect({
      host: u.hostname,
      port: Number(u.port),
      onread: {
        buffer: shared,
        callback: (nread, buf) => {
          if (ws) {
            ws.feed(buf, nread);
            return;
          }
          // Handshake: the 101 header, possibly followed by the first frames in the same read.
          head += buf.toString('latin1', 0, nread);
          const end = head.indexOf('\r\n\r\n');
          if (end === -1) return;
          const status = Number(head.slice(9, 12));
          if (status !== 101) {
            socket.destroy();
            reject(new Error(`upgrade refused: HTTP ${status} ${head.slice(end + 4, end + 124)}`));
            return;
          }
          ws = new RawWs(socket, Buffer.from(head.slice(end + 4), 'latin1'));
          resolve(ws);
        },
      },
    });
    socket.setTimeout(timeoutMs, () => {
      if (!ws) {
        socket.destroy();
        reject(new Error(`handshake timed out after ${timeoutMs} ms`));
      }
      socket.setTimeout(0);
    });
    socket.on('error', (error) => {
      if (!ws) reject(error);
    });
    socket.on('close', () => {
      if (!ws) reject(new Error('connection closed during the upgrade'));
    });
    socket.on('connect', () => {
      socket.setNoDelay(true);
      socket.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
      );
    });
  });
}

export class RawWs {
  constructor(socket, head) {
    this.socket = socket;
    this.head = head;
    this.pending = null;
    this.started = false;
    this.open = true;
    /** (opcode, buf, start, end): a text (1) or binary (2) frame's payload is buf[start, end); valid only during the call. */
    this.onMessage = () => {};
    /** (code, reason) once the connection is gone. */
    this.onClose = () => {};
    this.closeCode = 1006;
    this.closeReason = '';
    socket.on('close', () => {
      if (!this.open) return;
      this.open = false;
      this.onClose(this.closeCode, this.closeReason);
    });
  }

  /** Call once the handlers are set: delivers frames read so far and from then on. */
  start() {
    this.started = true;
    const early = this.head;
    this.head = null;
    if (early.length) this.feed(early, early.length);
  }

  feed(chunk, nread) {
    if (!this.started) {
      this.head = Buffer.concat([this.head, chunk.subarray(0, nread)]);
      return;
    }
    let buf = chunk;
    let n = nread;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk.subarray(0, nread)]);
      n = buf.length;
      this.pending = null;
    }
    let off = 0;
    while (n - off >= 2) {
      const b0 = buf[off];
      let len = buf[off + 1] & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (n - off < 4) break;
        len = buf.readUInt16BE(off + 2);
        hdr = 4;
      } else if (len === 127) {
        if (n - off < 10) break;
        len = Number(buf.readBigUInt64BE(off + 2));
        hdr = 10;
      }
      if (buf[off + 1] & 0x80) hdr += 4; // servers must not mask; tolerate it for the length only
      const end = off + hdr + len;
      if (end > n) break;
      const opcode = b0 & 0x0f;
      if (opcode === 1 || opcode === 2) this.onMessage(opcode, buf, off + hdr, end);
      else if (opcode === 9) this.sendFrame(0xa, buf.subarray(off + hdr, end));
      else if (opcode === 8) {
        this.closeCode = len >= 2 ? buf.readUInt16BE(off + hdr) : 1005;
        this.closeReason = len > 2 ? buf.toString('utf8', off + hdr + 2, end) : '';
        this.sendFrame(0x8, buf.subarray(off + hdr, Math.min(end, off + hdr + 2)));
        this.socket.end();
      }
      off = end;
    }
    // The read buffer is shared and reused: keep a copy of an incomplete frame.
    if (off < n) this.pending = Buffer.from(buf.subarray(off, n));
  }

  send(text) {
    this.sendFrame(0x1, Buffer.from(text));
  }

  sendFrame(opcode, payload) {
    if (!this.open || this.socket.destroyed) return;
    this.socket.write(maskedClientFrame(opcode, payload));
  }

  terminate() {
    this.open = false;
    this.socket.destroy();
  }
}

/** A final, masked client → server frame (RFC 6455 §5.3: clients always mask). */
export function maskedClientFrame(opcode, payload) {
  const len = payload.length;
  const hdr = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(hdr + 4 + len);
  frame[0] = 0x80 | opcode;
  if (hdr === 2) frame[1] = 0x80 | len;
  else if (hdr === 4) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = randomBytes(4);
  mask.copy(frame, hdr);
  for (let i = 0; i < len; i++) frame[hdr + 4 + i] = payload[i] ^ mask[i & 3];
  return frame;
}
