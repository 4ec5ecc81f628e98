// A deliberately minimal WebSocket client for the subscribers. With 2 cores, the `ws` client library
// spends ~5 µs of client CPU per received message (measured: 90 % of a core at 160k deliveries/s), so the
// clients, not the server, would cap the figures. This client parses frame headers in place and hands the
// payload range to the caller without copying; it answers pings and close frames, and masks what it sends
// (RFC 6455 §5.3). No extensions, no fragmentation (servers send these small frames whole).
import http from 'node:http';
import { randomBytes } from 'node:crypto';

/** Opens `url` (ws://host:port/path?query); rejects with a readable reason if the upgrade is refused. */
export function connectRaw(url, timeoutMs) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({
      host: u.hostname,
      port: u.port,
      path: `${u.pathname}${u.search}`,
      agent: false,
      timeout: timeoutMs,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      },
    });
    req.on('upgrade', (_res, socket, head) => resolve(new RawWs(socket, head)));
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => reject(new Error(`upgrade refused: HTTP ${res.statusCode} ${body.slice(0, 120)}`)));
    });
    req.on('timeout', () => req.destroy(new Error(`handshake timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export class RawWs {
  constructor(socket, head) {
    this.socket = socket;
    this.head = head;
    this.pending = null;
    this.open = true;
    /** (opcode, buf, start, end): a text (1) or binary (2) frame's payload is buf[start, end). */
    this.onMessage = () => {};
    /** (code, reason) once the connection is gone. */
    this.onClose = () => {};
    this.closeCode = 1006;
    this.closeReason = '';
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('close', () => {
      if (!this.open) return;
      this.open = false;
      this.onClose(this.closeCode, this.closeReason);
    });
  }

  /** Call once the handlers are set: starts reading (including bytes that came with the upgrade). */
  start() {
    this.socket.on('data', (chunk) => this.feed(chunk));
    if (this.head.length) this.feed(this.head);
    this.head = null;
  }

  feed(chunk) {
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const n = buf.length;
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
    if (off < n) this.pending = Buffer.from(buf.subarray(off));
  }

  send(text) {
    this.sendFrame(0x1, Buffer.from(text));
  }

  sendFrame(opcode, payload) {
    if (!this.open || this.socket.destroyed) return;
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
    this.socket.write(frame);
  }

  terminate() {
    this.open = false;
    this.socket.destroy();
  }
}
