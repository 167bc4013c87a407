import { capText } from './zh-CN.ts';

/**
 * `alert.info[0].area[1].polygon[0]` as a person finds it in the file: `<info> 第 1 个 › <area> 第 2 个 ›
 * <polygon> 第 1 个`. The root `alert` is left out (every path starts there).
 * @example elementPath('alert.info[0].urgency') // '<info> 第 1 个 › <urgency>'
 */
export function elementPath(path: string): string {
  const steps = path
    .split('.')
    .filter(Boolean)
    .map((s) => {
      const m = /^([^[\]]+)(?:\[(\d+)\])?$/.exec(s);
      return m ? { name: m[1]!, index: m[2] === undefined ? undefined : Number(m[2]) } : { name: s, index: undefined };
    });
  if (steps.length > 1 && steps[0]!.name === 'alert') steps.shift();
  return steps.length ? steps.map((s) => capText.step(s.name, s.index)).join(capText.pathSep) : capText.wholeFile;
}
