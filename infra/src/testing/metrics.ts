/** One series of a Prometheus text exposition: its metric name, labels and value. */
export interface MetricSeries {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A service's /metrics as read once, asked by name and labels. */
export interface Metrics {
  readonly series: MetricSeries[];
  /**
   * The sum of `name` over its series carrying every label in `where` (0 when none does).
   * @example (await readMetrics(url)).value('sms_bad_deliver_total', { carrier: 'cmcc', reason: 'undecodable PDU' })
   */
  value(name: string, where?: Record<string, string>): number;
  /**
   * `name` over the series carrying every label in `where`, summed by the value of the label `by`.
   * @example (await readMetrics(url)).by('sms_replies_total', 'reason', { carrier: 'cmcc' }) // { alert: 1, matched: 2 }
   */
  by(name: string, by: string, where?: Record<string, string>): Record<string, number>;
}

const LINE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;
const unescape = (v: string) => v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));

/** Parses Prometheus text (what prom-client writes): comments skipped, label values unescaped. */
export function parseMetrics(text: string): Metrics {
  const series: MetricSeries[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) labels[k!] = unescape(v!);
    series.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  const matching = (name: string, where: Record<string, string>) =>
    series.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v));
  return {
    series,
    value: (name, where = {}) => matching(name, where).reduce((a, s) => a + s.value, 0),
    by(name, by, where = {}) {
      const out: Record<string, number> = {};
      for (const s of matching(name, where)) {
        const key = s.labels[by];
        if (key !== undefined) out[key] = (out[key] ?? 0) + s.value;
      }
      return out;
    },
  };
}

/** `GET url` (a service's `/metrics`) parsed; fails with the status when it does not answer 200. */
export async function readMetrics(url: string): Promise<Metrics> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 200)}`);
  return parseMetrics(text);
}
