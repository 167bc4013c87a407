import { z } from 'zod';
import { commonEnv, port } from '@geo/infra';

export const MessagingEnv = z.object({
  ...commonEnv,
  HEALTH_PORT: port(9103),
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
});
export type MessagingConfig = z.infer<typeof MessagingEnv>;
