import { z } from 'zod';
import type { Target } from '../broadcast/envelope.js';

const id = z.string().min(1).max(256);

/** `POST /api/messages`: a bus-style message to the whole tenant, users, a session or a token. */
export const sendMessageSchema = z
  .object({
    cmd: z.string().min(1).max(200),
    data: z.unknown().refine((value) => value !== undefined, 'is required'),
    to: z
      .object({
        user: id.optional(),
        users: z.array(id).min(1).max(1000).optional(),
        session: id.optional(),
        token: id.optional(),
      })
      .strict()
      .refine((to) => Object.values(to).filter((v) => v !== undefined).length === 1, 'give exactly one of user, users, session, token')
      .optional(),
  })
  .strict();

export type SendMessageDto = z.infer<typeof sendMessageSchema>;

export function targetOf(to: SendMessageDto['to']): Target {
  if (!to) return { kind: 'tenant' };
  if (to.user !== undefined) return { kind: 'users', userIds: [to.user] };
  if (to.users !== undefined) return { kind: 'users', userIds: [...new Set(to.users)] };
  if (to.session !== undefined) return { kind: 'session', sessionId: to.session };
  if (to.token !== undefined) return { kind: 'token', tokenId: to.token };
  return { kind: 'tenant' };
}
