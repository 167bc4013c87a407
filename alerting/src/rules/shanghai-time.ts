/** Asia/Shanghai time lives in one home, `@geo/infra/basics`; alerting's rules import it from here. */
export { SHANGHAI_OFFSET_MS, shanghaiDate, shanghaiDay, shanghaiMidnight, shanghaiMinuteOfDay } from '@geo/infra/basics';
