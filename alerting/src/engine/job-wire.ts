import type { SmsJob } from '@geo/messaging';
import { numberString } from '../presence/presence.ts';

/**
 * What every job of one send shares (task, carrier, text, time: messaging's `SmsJobBatch.common`)
 * and how a job's id is made of the number: `idPrefix + msisdn + idSuffix`.
 */
export interface JobTemplate {
  common: Omit<SmsJob, 'jobId' | 'msisdn'>;
  idPrefix: string;
  idSuffix: string;
}

/** A stand-in number that no real field holds: where it turns up, that field is made of the number. */
const MARK = '\u0001';

/**
 * The template of the jobs `job` builds, from one job built for a stand-in number. Throws when a
 * shared field depends on the number, or the job id does not hold it exactly once: such jobs could
 * not share a template, and encoding them with one would send the wrong thing.
 *
 * @example
 * jobTemplate((m) => alertJob(task, m, 'cmcc', alertJobId(task.id, m), now)) // → { common: { source: 'alert', … }, idPrefix: 'alert:t-1:', idSuffix: '' }
 */
export function jobTemplate(job: (msisdn: string) => SmsJob): JobTemplate {
  const { jobId, msisdn, ...common } = job(MARK);
  const at = jobId.indexOf(MARK);
  if (msisdn !== MARK || at < 0 || jobId.indexOf(MARK, at + 1) >= 0 || JSON.stringify(common).includes('\\u0001'))
    throw new Error('jobs of one send must differ only by number and a job id holding the number once');
  return { common, idPrefix: jobId.slice(0, at), idSuffix: jobId.slice(at + 1) };
}

/** Bytes per slab of messages: about 64 messages of 100 jobs. */
const SLAB = 512 * 1024;

/** The four digits of 0…9999, zero-padded: `DIGITS[4n … 4n + 4)`. */
const DIGITS = Buffer.from(Array.from({ length: 10_000 }, (_, n) => String(n).padStart(4, '0')).join(''), 'latin1');

/** JSON of a string's inside, without its quotes. */
const inner = (s: string) => JSON.stringify(s).slice(1, -1);

/** Whether a number stands in JSON as it is (printable ASCII, no `"` or `\\`): numbers from presence always do. */
function plain(m: string): boolean {
  for (let j = 0; j < m.length; j++) {
    const c = m.charCodeAt(j);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/**
 * Writes SMS_JOBS messages of one template straight into bytes: messaging's `SmsJobBatch` wire form
 * (`{"v":1,"common":{…},"jobs":[{"jobId":…,"msisdn":…},…]}`, each job `{ ...common, ...job }` as
 * messaging's `jobsOfBatch` reads it), with no job object or JSON call per person. A task start of
 * 1,000,000 people built and encoded a job object each for a third of the engine's CPU (#24).
 * A message's jobs are one string written once into a slab (faster here than a byte loop per field).
 */
export class JobWriter {
  private readonly head: Uint8Array;
  /** `{"jobId":"<id prefix>`, `<id suffix>","msisdn":"`, and their UTF-8 sizes. */
  private readonly open: string;
  private readonly mid: string;
  private readonly fixedBytes: number;

  constructor(t: JobTemplate) {
    this.head = Buffer.from(`{"v":1,"common":${JSON.stringify(t.common)},"jobs":[`, 'utf8');
    this.open = `{"jobId":"${inner(t.idPrefix)}`;
    this.mid = `${inner(t.idSuffix)}","msisdn":"`;
    // open + mid + `"}` + `,`
    this.fixedBytes = Buffer.byteLength(this.open) + Buffer.byteLength(this.mid) + 3;
  }

  /**
   * Messages are carved out of slabs of {@link SLAB} bytes: a fresh buffer per 8 kB message cost a
   * tenth of the encoding. A slab is freed when the last message cut from it is.
   */
  private slab = Buffer.allocUnsafe(0);
  private used = 0;

  /**
   * {@link encode} for numbers kept as doubles (`numbers[k]` for each k in `at`): when all are
   * 11-digit mainland numbers, a copy of a pre-rendered message of that many jobs with each job's
   * digits written in (no string per person at all); else by their strings.
   */
  encodeNumbers(numbers: Float64Array, at: ArrayLike<number>): Uint8Array {
    let mainland = true;
    for (let k = 0; k < at.length && mainland; k++) {
      const n = numbers[at[k]];
      mainland = n >= 1e10 && n < 1e11 && Number.isInteger(n);
    }
    if (!mainland) {
      const strings: string[] = [];
      for (let k = 0; k < at.length; k++) strings.push(numberString(numbers[at[k]]));
      return this.encode(
        strings,
        strings.map((_, k) => k),
      );
    }
    const { bytes, idAt, msisdnAt } = this.stencil(at.length);
    const start = this.reserve(bytes.length);
    const buf = this.slab;
    buf.set(bytes, start);
    for (let k = 0; k < at.length; k++) {
      const n = numbers[at[k]];
      const a = Math.floor(n / 1e8); // 3 digits: 100…999
      const r = n - a * 1e8;
      const b = Math.floor(r / 1e4);
      const c = r - b * 1e4;
      const x = start + idAt[k],
        y = start + msisdnAt[k];
      let d = a * 4 + 1;
      buf[x] = buf[y] = DIGITS[d];
      buf[x + 1] = buf[y + 1] = DIGITS[d + 1];
      buf[x + 2] = buf[y + 2] = DIGITS[d + 2];
      d = b * 4;
      buf[x + 3] = buf[y + 3] = DIGITS[d];
      buf[x + 4] = buf[y + 4] = DIGITS[d + 1];
      buf[x + 5] = buf[y + 5] = DIGITS[d + 2];
      buf[x + 6] = buf[y + 6] = DIGITS[d + 3];
      d = c * 4;
      buf[x + 7] = buf[y + 7] = DIGITS[d];
      buf[x + 8] = buf[y + 8] = DIGITS[d + 1];
      buf[x + 9] = buf[y + 9] = DIGITS[d + 2];
      buf[x + 10] = buf[y + 10] = DIGITS[d + 3];
    }
    this.used = start + bytes.length;
    return buf.subarray(start, start + bytes.length);
  }

  /** Messages of `count` jobs to 11-digit numbers, with where each job's id and number digits go. */
  private readonly stencils = new Map<number, { bytes: Uint8Array; idAt: Int32Array; msisdnAt: Int32Array }>();

  private stencil(count: number): { bytes: Uint8Array; idAt: Int32Array; msisdnAt: Int32Array } {
    let st = this.stencils.get(count);
    if (st) return st;
    const placeholder = '0'.repeat(11);
    const used = this.used;
    const bytes = Buffer.from(
      this.encode(
        Array<string>(count).fill(placeholder),
        Array.from({ length: count }, (_, k) => k),
      ),
    );
    this.used = Math.min(used, this.used); // written into the slab only to be copied out
    const idAt = new Int32Array(count),
      msisdnAt = new Int32Array(count);
    const open = Buffer.byteLength(this.open),
      job = this.fixedBytes + 2 * placeholder.length;
    for (let k = 0; k < count; k++) {
      idAt[k] = this.head.length + k * job + open;
      msisdnAt[k] = idAt[k] + placeholder.length + Buffer.byteLength(this.mid);
    }
    this.stencils.set(count, (st = { bytes, idAt, msisdnAt }));
    return st;
  }

  /**
   * Where in the slab a message of `size` bytes goes (a new slab when it does not fit). Slabs start
   * at 16 kB and double up to {@link SLAB}: a writer that sends a few people (a replay or a quiet
   * live flush, one person at a time) took a whole 512 kB slab each, ~13 GB of buffers for a
   * what-if district-day, and that external memory forced full collections (37 % of its CPU).
   */
  private reserve(size: number): number {
    if (this.used + size > this.slab.length) {
      this.slab = Buffer.allocUnsafe(Math.max(size, Math.min(SLAB, Math.max(16_384, this.slab.length * 2))));
      this.used = 0;
    }
    return this.used;
  }

  /** One message holding the jobs of `msisdns[k]` for each k in `at` (positions into `msisdns`). */
  encode(msisdns: readonly string[], at: ArrayLike<number>): Uint8Array {
    const { open, mid } = this;
    let jobs = '';
    let size = this.head.length + 2;
    for (let k = 0; k < at.length; k++) {
      let m = msisdns[at[k]];
      if (!plain(m)) {
        // Not from a mainland feed: escaped, and counted by its UTF-8 size.
        m = inner(m);
        size += 2 * (Buffer.byteLength(m) - m.length);
      }
      jobs += (k > 0 ? ',' : '') + open + m + mid + m + '"}';
      size += this.fixedBytes + 2 * m.length;
    }
    const start = this.reserve(size);
    const buf = this.slab;
    buf.set(this.head, start);
    let o = start + this.head.length;
    o += buf.write(jobs, o, 'utf8');
    buf[o++] = 0x5d; // ]
    buf[o++] = 0x7d; // }
    this.used = o;
    return buf.subarray(start, o);
  }
}
