import type { WireFrame } from '../broadcast/codec.js';

/**
 * Builds a final, unmasked WebSocket text frame (RFC 6455 §5.2) in one buffer. Server frames are never
 * masked, so the bytes are identical for every recipient: build once, write to every socket.
 * Valid only while permessage-deflate is off (it is: the WS servers are created with it disabled).
 */
export function frameText(text: string): WireFrame {
  const length = Buffer.byteLength(text);
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81; // FIN + text opcode
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(length, 6);
  }
  frame.write(text, headerLength, 'utf8');
  return frame;
}
