import type { JetStreamManager } from '@nats-io/jetstream';
import { CARRIERS, LANGUAGES, languageCode, shardOf, type Carrier } from '@geo/ingest';
import { JsPublishError, WRONG_LAST_SEQUENCE, type JsPublisher } from './js-publisher.ts';

/** The stream of send claims: the durable record of who was sent what, once per person per task (or day). */
export const CLAIMS_STREAM = 'ALERT_CLAIMS';
export const CLAIMS_SUBJECTS = 'alert.claims.>';
/**
 * Claim logs per task (and day) are split by a fixed hash of the number, independent of how many
 * LOCATION shards are deployed, so one person always lands in the same log.
 */
export const CLAIM_PARTS = 8;
/** People per claim message: ~15 B each, so a chunk stays far below NATS' 1 MB payload limit. */
export const CLAIM_CHUNK = 20_000;

export const claimPart = (msisdn: string): number => shardOf(msisdn, CLAIM_PARTS);
/** `alert.claims.<task>.<day YYYYMMDD | once>.<part>` */
export const claimSubject = (taskId: string, day: string | undefined, part: number): string =>
  `alert.claims.${taskId}.${day ?? 'once'}.${part}`;

/**
 * One claim message: people claimed together by one instance at one time. `carriers` holds one
 * digit per person (index into CARRIERS), parallel to `msisdns`.
 */
export interface ClaimChunk {
  v: 1;
  /** Unique per append attempt: recognises our own chunk when its ack was lost. */
  id: string;
  instance: string;
  at: number;
  msisdns: string[];
  carriers: string;
  /**
   * Jobs per SMS_JOBS message for this chunk's people, decided by its writer and stored with it, so
   * that anyone publishing its jobs again builds the same messages (see `chunkBatches`) whatever
   * its own setting. Absent in chunks written before batching: one job per message, Msg-Id = job id.
   */
  batch?: number;
  /**
   * Lease mode: the epochs (fencing tokens) of the LOCATION shard leases its writer held, by shard,
   * when it claimed. A record for audits and for a reader that refuses an older epoch; the claim
   * log itself already lets only one writer claim a person.
   */
  fence?: Record<string, number>;
  /**
   * Where each person was when claimed (their serving cell; the cell's carrier is the person's):
   * `place[k]` indexes the chunk's table `places`, -1 when unknown. From it any instance derives
   * "reached" (#19), also for people another instance claimed. Absent in older chunks.
   */
  places?: ChunkPlaces;
  place?: number[];
  /**
   * The language of each person's profile when claimed (#21): two letters per person (ISO 639-1,
   * `--` when unknown), parallel to `msisdns`. Whoever publishes the chunk's jobs again (after a
   * crash, a takeover, a rival's chunk) gives each the same text from it, also when its own
   * presence does not know them; a restore gives presence back a language it lacks. Absent when
   * nobody's language was known (and in older chunks): everyone Chinese.
   */
  langs?: string;
}

/** Two letters for a person whose language is unknown. */
const NO_LANG = '--';

/**
 * A chunk's `langs` for people `i[from … to)` of a presence whose languages are `codes` (index in
 * LANGUAGES + 1, 0 unknown); undefined when nobody's language is known.
 */
export function langLetters(codes: Uint8Array, i: readonly number[], from: number, to: number): string | undefined {
  let any = false;
  for (let k = from; k < to && !any; k++) any = codes[i[k]] !== 0;
  if (!any) return undefined;
  let s = '';
  for (let k = from; k < to; k++) {
    const c = codes[i[k]];
    s += c === 0 ? NO_LANG : LANGUAGES[c - 1];
  }
  return s;
}

/** The language code (index in LANGUAGES + 1, 0 unknown) of a chunk's person `k`. */
export const chunkLangCode = (c: ClaimChunk, k: number): number =>
  c.langs === undefined ? 0 : languageCode(c.langs.slice(2 * k, 2 * k + 2));

/** A claim chunk's table of cells: ids and positions, one entry per distinct cell. */
export interface ChunkPlaces {
  ids: string[];
  lng: number[];
  lat: number[];
}

export function claimChunk(
  id: string,
  instance: string,
  at: number,
  people: readonly { msisdn: string; carrier: Carrier }[],
  batch?: number,
  fence?: Record<string, number>,
  places?: ChunkPlaces & { of: number[] },
): ClaimChunk {
  const codes = people.map((p) => CARRIERS.indexOf(p.carrier));
  return claimChunkOf(
    id,
    instance,
    at,
    people.map((p) => p.msisdn),
    carrierDigits(codes, 0, codes.length),
    batch,
    fence,
    places,
  );
}

/** A chunk's `carriers`: one digit per person of `codes[from … to)` (indexes into CARRIERS). */
export function carrierDigits(codes: readonly number[], from: number, to: number): string {
  const b = Buffer.allocUnsafe(to - from);
  for (let k = from; k < to; k++) b[k - from] = 48 + codes[k];
  return b.toString('latin1');
}

/** {@link claimChunk} by columns: numbers, and carriers already as digits. */
export function claimChunkOf(
  id: string,
  instance: string,
  at: number,
  msisdns: string[],
  carriers: string,
  batch?: number,
  fence?: Record<string, number>,
  places?: ChunkPlaces & { of: number[] },
  langs?: string,
): ClaimChunk {
  return {
    v: 1,
    id,
    instance,
    at,
    msisdns,
    carriers,
    ...(batch === undefined ? {} : { batch }),
    ...(fence === undefined ? {} : { fence }),
    ...(places === undefined ? {} : { places: { ids: places.ids, lng: places.lng, lat: places.lat }, place: places.of }),
    ...(langs === undefined ? {} : { langs }),
  };
}

/** The people of a chunk with their carriers. */
export function* chunkPeople(c: ClaimChunk): Generator<{ msisdn: string; carrier: Carrier }> {
  for (let k = 0; k < c.msisdns.length; k++) yield { msisdn: c.msisdns[k], carrier: CARRIERS[Number(c.carriers[k])] };
}

function isChunk(x: unknown): x is ClaimChunk {
  const c = x as ClaimChunk;
  return (
    !!c &&
    c.v === 1 &&
    typeof c.id === 'string' &&
    Array.isArray(c.msisdns) &&
    typeof c.carriers === 'string' &&
    c.carriers.length === c.msisdns.length &&
    typeof c.at === 'number' &&
    (c.batch === undefined || (Number.isInteger(c.batch) && c.batch >= 1)) &&
    (c.langs === undefined || (typeof c.langs === 'string' && c.langs.length === 2 * c.msisdns.length)) &&
    (c.place === undefined ||
      (Array.isArray(c.place) &&
        c.place.length === c.msisdns.length &&
        !!c.places &&
        Array.isArray(c.places.ids) &&
        c.places.lng?.length === c.places.ids.length &&
        c.places.lat?.length === c.places.ids.length))
  );
}

export type AppendResult = { ok: boolean; others: ClaimChunk[] };

/**
 * Send claims as an optimistic-concurrency log per (task, day, part): an append is a publish that
 * expects the subject's last sequence to be the last one this instance has seen. Exactly one writer
 * wins each position (the same guarantee as a KV create, for a whole chunk at once); a loser reads
 * what it missed, drops the people someone else claimed and tries again. One JetStream write claims
 * thousands of people, instead of one KV create per person.
 *
 * The caller must fold every chunk returned in `others` into what it knows was claimed before it
 * appends again to that subject: the log only guarantees that the writer had read every earlier
 * chunk on the subject, and the people filter is the caller's.
 */
export class SendClaims {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly pub: JsPublisher,
    private readonly stream = CLAIMS_STREAM,
  ) {}

  /**
   * Appends a chunk. `ok: true` when it is stored (also when an earlier attempt with the same
   * chunk id turns out to have been stored); `ok: false` when others wrote first: `others` holds
   * their chunks. Other errors (timeouts) leave the outcome unknown and are thrown.
   */
  async append(subject: string, chunk: ClaimChunk): Promise<AppendResult> {
    const expected = this.last.get(subject) ?? 0;
    try {
      const a = await this.pub.publish(subject, JSON.stringify(chunk), { expectLastSubjectSequence: expected });
      this.seen(subject, a.seq);
      return { ok: true, others: [] };
    } catch (err) {
      if (!(err instanceof JsPublishError && err.code === WRONG_LAST_SEQUENCE)) throw err;
      const others = await this.catchUp(subject);
      const mine = others.findIndex((c) => c.id === chunk.id);
      if (mine >= 0) return { ok: true, others: others.filter((_, k) => k !== mine) };
      return { ok: false, others };
    }
  }

  private seen(subject: string, seq: number): void {
    if (seq > (this.last.get(subject) ?? 0)) this.last.set(subject, seq);
  }

  /** The chunks stored on a subject after the last one this instance has seen. */
  async catchUp(subject: string): Promise<ClaimChunk[]> {
    const out: ClaimChunk[] = [];
    for await (const { chunk } of this.read(subject, this.last.get(subject) ?? 0, true)) out.push(chunk);
    return out;
  }

  /**
   * Every chunk of a task (for `daily`: of one day), oldest first, with the time the stream stored
   * it. It does not move the append position: an append already under way (people chosen before
   * the caller folded this listing) must still fail and get these chunks in `others`, or it would
   * claim their people again. So the first append per subject after a listing retries once.
   */
  async *list(taskId: string, day?: string): AsyncGenerator<{ subject: string; chunk: ClaimChunk; storedAt: number }> {
    yield* this.read(`alert.claims.${taskId}.${day ?? 'once'}.*`, 0, false);
  }

  /**
   * Every chunk of a task, all days, stored after stream sequence `after`, oldest first, with its
   * sequence (to read on from later). Does not move the append position (see {@link list}).
   */
  async *since(taskId: string, after: number): AsyncGenerator<{ seq: number; chunk: ClaimChunk }> {
    for await (const { seq, chunk } of this.read(`alert.claims.${taskId}.>`, after, false)) yield { seq, chunk };
  }

  private async *read(
    filter: string,
    after: number,
    advance: boolean,
  ): AsyncGenerator<{ subject: string; seq: number; chunk: ClaimChunk; storedAt: number }> {
    for (let seq = after + 1; ;) {
      // STREAM.MSG.GET takes next_by_subj (the first message on the subject at or after seq) since
      // nats-server 2.9, though the client types only list it for direct gets; null past the end.
      const m = await this.jsm.streams.getMessage(this.stream, { seq, next_by_subj: filter } as unknown as { seq: number });
      if (!m) return;
      if (advance) this.seen(m.subject, m.seq);
      seq = m.seq + 1;
      const chunk = m.json<unknown>();
      // A malformed message cannot have been written by alerting; it claims nobody.
      if (isChunk(chunk)) yield { subject: m.subject, seq: m.seq, chunk, storedAt: m.time.getTime() };
    }
  }
}
