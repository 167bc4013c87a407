/** How deep JSON may nest: far beyond any request of ours (a region is about 5 deep). */
export const MAX_JSON_DEPTH = 64;

/**
 * Why a JSON text must be refused before it is parsed, or undefined: nesting deeper than
 * `maxDepth` (200,000 levels used to reach the parser and the validators), or a NUL character,
 * raw or escaped as `\u0000` (PostgreSQL cannot store it in text and answered 500). One pass, no
 * allocation; strings and their escapes are skipped properly, so brackets and `\\u0000` inside a
 * string are text.
 * @example jsonShapeProblem('{"a":"x\\u0000"}') // 'nul'
 */
export function jsonShapeProblem(text: string, maxDepth = MAX_JSON_DEPTH): 'depth' | 'nul' | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0) return 'nul';
    if (inString) {
      if (ch === 0x5c /* \ */) {
        const next = text.charCodeAt(i + 1);
        if (next === 0x75 /* u */ && text.slice(i + 2, i + 6) === '0000') return 'nul';
        i++;
      } else if (ch === 0x22 /* " */) inString = false;
      continue;
    }
    if (ch === 0x22) inString = true;
    else if (ch === 0x5b /* [ */ || ch === 0x7b /* { */) {
      if (++depth > maxDepth) return 'depth';
    } else if (ch === 0x5d || ch === 0x7d) depth--;
  }
  return undefined;
}
