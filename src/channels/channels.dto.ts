import { z } from 'zod';

/** Channels per `POST /api/publish` (also capped by the app's `maxEventChannelsAtOnce`). */
export const MAX_PUBLISH_CHANNELS = 100;

/**
 * `POST /api/publish`: The Broadcaster's REST publish `{channel, event, payload}`, or `{channels: […]}`
 * for several channels at once. Channel names are checked against the app's rules after parsing.
 */
export const publishSchema = z
  .object({
    channel: z.string().min(1).optional(),
    channels: z.array(z.string().min(1)).min(1).max(MAX_PUBLISH_CHANNELS).optional(),
    event: z.string().min(1).max(200),
    payload: z.unknown().optional(),
  })
  .strict()
  .refine((body) => (body.channel === undefined) !== (body.channels === undefined), { message: 'give exactly one of channel, channels', path: ['channel'] });

export type PublishDto = z.infer<typeof publishSchema>;
