import type { RawData } from 'ws';

/** Bytes of a `ws` message payload, whichever of its three shapes `ws` delivered it in. */
export function rawDataLength(data: RawData): number {
  if (Array.isArray(data)) {
    let total = 0;
    for (const part of data) total += part.length;
    return total;
  }
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}
