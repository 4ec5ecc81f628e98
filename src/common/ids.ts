import { randomBytes, randomInt } from 'node:crypto';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 24 characters from a 62-character alphabet, like Cloudillo's `random_id()`. Rejection-free via 256 % 62 bias cut. */
export function randomId(length = 24): string {
  let out = '';
  while (out.length < length) {
    const bytes = randomBytes(length * 2);
    for (let i = 0; i < bytes.length && out.length < length; i++) {
      if (bytes[i] < 248) out += ALPHANUMERIC[bytes[i] % 62];
    }
  }
  return out;
}

/** Pusher-style socket id `high.low` (matches `^\d+\.\d+$`). */
export function socketId(): string {
  return `${randomInt(1, 2 ** 40)}.${randomInt(1, 2 ** 40)}`;
}
