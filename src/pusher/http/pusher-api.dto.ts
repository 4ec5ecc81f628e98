import { z } from 'zod';

const SOCKET_ID = /^\d+\.\d+$/;

/** One event of `POST /events` or of a `batch_events` item; `data` is normally a string (the SDKs send one). */
export const pusherEventSchema = z
  .object({
    name: z.string().min(1),
    data: z.unknown().refine((value) => value !== undefined, 'is required'),
    channel: z.string().optional(),
    channels: z.array(z.string()).min(1).optional(),
    socket_id: z.string().regex(SOCKET_ID, 'must look like 123.456').optional(),
    info: z.string().optional(),
  })
  .refine((event) => (event.channel === undefined) !== (event.channels === undefined), 'give exactly one of channel, channels');

export type PusherEventDto = z.infer<typeof pusherEventSchema>;

export const batchSchema = z.object({ batch: z.array(z.unknown()).min(1) });

/** `info=a,b` → the attributes asked for. */
export function infoAttributes(info: string | undefined): Set<string> {
  return new Set((info ?? '').split(',').map((part) => part.trim()).filter(Boolean));
}
