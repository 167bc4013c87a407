import { MAX_HYSTERESIS_BUFFER_M, MAX_HYSTERESIS_OUTSIDE_S } from '@geo/infra/basics';
import { z } from '../../http/openapi.ts';

/**
 * Edge hysteresis (边缘防抖, #21), as a task form and an insight query take it: someone jittering
 * across the region's edge (cell handovers) has left only after being more than `bufferMeters`
 * outside it for `minOutsideSeconds` on end; only then does a return count as a new entry (for a
 * task: dwell starts again; for insight: inflow). The rule is `@geo/infra/basics` edge-hysteresis,
 * the same in alerting and insight.
 */
export const HysteresisForm = z
  .object({
    bufferMeters: z
      .number({ error: '缓冲距离须为数字' })
      .min(0, '缓冲距离不能为负')
      .max(MAX_HYSTERESIS_BUFFER_M, `缓冲距离最多 ${MAX_HYSTERESIS_BUFFER_M} 米`)
      .optional()
      .openapi({ description: '离开区域超过多少米才算离开（按服务基站位置到区域的距离），默认 0', example: 500 }),
    minOutsideSeconds: z
      .number({ error: '离开时长须为数字' })
      .int('离开时长须为整数秒')
      .min(0, '离开时长不能为负')
      .max(MAX_HYSTERESIS_OUTSIDE_S, '离开时长最长 86400 秒（一天）')
      .optional()
      .openapi({ description: '在缓冲距离之外连续多少秒才算离开，之后再进入才算新进入，默认 0', example: 600 }),
  })
  .openapi('EdgeHysteresis', {
    description: '边缘防抖：在区域边缘来回切换基站的人不重复计为进入；省略或全为 0 时每次跨越边缘都计',
    example: { bufferMeters: 500, minOutsideSeconds: 600 },
  });
export type HysteresisForm = z.infer<typeof HysteresisForm>;
