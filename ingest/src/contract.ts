import { MSISDN, Carrier } from '@geo/infra/basics';
import { z } from 'zod';

/**
 * The location-event contract. Ingest publishes it; alerting and the insight sink consume it.
 * Events travel in batches (many per message): one event per message tops out near 43k/s on
 * JetStream here, 100 per message near 0.9M/s (DESIGN.md).
 */

export { CARRIERS, Carrier } from '@geo/infra/basics';

/** What the signalling record was. `detach` means the handset left the network (switched off). */
export const EVENT_KINDS = ['attach', 'detach', 'periodic', 'handover', 'call', 'sms', 'data'] as const;
export const EventKind = z.enum(EVENT_KINDS);
export type EventKind = z.infer<typeof EventKind>;

/** Earliest and latest accepted event times relative to now (ms): older or future events are refused. */
export const MAX_EVENT_AGE_MS = 7 * 24 * 3600_000;
export const MAX_EVENT_FUTURE_MS = 5 * 60_000;

/**
 * The ISO 639-1 language codes (the 183 current ones), in a fixed order: the binary LOCATION codec
 * and alerting's presence keep a language as one byte, its index here plus one (0: none). Append
 * only: an index once published must keep its meaning.
 */
export const LANGUAGES = (
  'aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el en eo es et eu fa ' +
  'ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko ' +
  'kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa ' +
  'pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ' +
  'ug uk ur uz ve vi vo wa wo xh yi yo za zh zu'
).split(' ') as [string, ...string[]];
/** A language's one-byte code: its index in {@link LANGUAGES} plus one; 0 for none or an unknown code. */
export const languageCode = (lang: string | undefined): number => (lang === undefined ? 0 : (LANGUAGE_INDEX.get(lang) ?? -1) + 1);
const LANGUAGE_INDEX = new Map(LANGUAGES.map((l, k) => [l, k]));

export const LocationEvent = z.object({
  /** Mainland mobile number without +86. */
  msisdn: z.string().regex(MSISDN, 'expected an 11-digit mainland mobile number'),
  carrier: Carrier,
  /** Event time, Unix epoch milliseconds. */
  ts: z.number().int().positive(),
  /** Serving cell id, as the carrier names it. */
  cell: z.string().min(1).max(64),
  /** The serving cell's position (WGS-84), not a GPS fix. */
  lat: z.number().min(-90).max(90),
  lng: z.number().min(-180).max(180),
  kind: EventKind,
  /** Profile attributes the carrier attaches (enriched signalling). */
  gender: z.enum(['m', 'f']).optional(),
  age: z.number().int().min(0).max(120).optional(),
  /** Home city (归属地), GB/T 2260 six-digit code. */
  home: z
    .string()
    .regex(/^\d{6}$/, 'expected a six-digit GB/T 2260 code')
    .optional(),
  /**
   * The language of the number's profile (ISO 639-1, lower case), when the carrier knows it: for an
   * inbound roamer the language of their home network's country, for a local who asked for it their
   * own. Alerting sends a task's text in it when the task has one (#21).
   */
  lang: z.enum(LANGUAGES, { error: 'expected an ISO 639-1 language code, e.g. en' }).optional(),
});
export type LocationEvent = z.infer<typeof LocationEvent>;

export const LocationBatch = z.object({
  v: z.literal(1),
  events: z.array(LocationEvent).min(1).max(10_000),
});
export type LocationBatch = z.infer<typeof LocationBatch>;

export const LOCATION_STREAM = 'LOCATION';
export const LOCATION_SUBJECTS = 'loc.>';
/** Shards per carrier. Modest on purpose: many subjects with per-subject limits hurt nats-server 2.9. */
export const DEFAULT_SHARDS = 8;

export const locationSubject = (carrier: Carrier, shard: number): string => `loc.${carrier}.${shard}`;
/** Subject filter for one carrier's shard (or every shard with `*`). */
export const locationFilter = (carrier: Carrier | '*', shard: number | '*'): string => `loc.${carrier}.${shard}`;

/** A stable shard for a subscriber (FNV-1a over the number), so one consumer owns a slice of people. */
export function shardOf(msisdn: string, shards = DEFAULT_SHARDS): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < msisdn.length; i++) {
    h ^= msisdn.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

// ─── Feeds and commands ingest carries out (additive) ──────────────────────────────────────────

/** External producers publish NDJSON (one event per line) here; validated like the HTTP feed. */
export const feedSubject = (carrier: Carrier): string => `ingest.feed.${carrier}`;
export const FEED_SUBJECTS = 'ingest.feed.*';

/** Request/reply: start a scenario in the running simulator. Payload: ScenarioRequest; reply: ScenarioReply. */
export const SCENARIO_START_SUBJECT = 'ingest.scenario.start';
/** Request/reply: stop a running scenario. Payload `{ id }`; reply: ScenarioReply. */
export const SCENARIO_STOP_SUBJECT = 'ingest.scenario.stop';
/** Request/reply: the simulator's status (IngestStatus); empty payload. */
export const STATUS_SUBJECT = 'ingest.status';

export const SCENARIO_KINDS = ['typhoon', 'concert', 'holiday'] as const;
const LatLng = z.object({ lat: z.number().min(-90).max(90), lng: z.number().min(-180).max(180) });

/**
 * A scenario a duty officer starts. Times are simulated time; `startsInMin` counts from the
 * simulated now. Places are ids of the simulator's named places or explicit positions.
 */
export const ScenarioRequest = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('typhoon'),
    /** Landfall point: `wenling` (default), `cangnan`, `xiangshan`, or a position. */
    landfall: z.union([z.string(), LatLng]).default('wenling'),
    /** People living within this distance of the landfall point move. @default 40 */
    radiusKm: z.number().positive().max(300).default(40),
    /** How far inland they go. @default 60 */
    inlandKm: z.number().positive().max(300).default(60),
    /** Departures spread over this many hours from the start. @default 4 */
    rampHours: z.number().positive().max(48).default(4),
    /** Share of the people in the zone who leave. @default 0.7 */
    compliance: z.number().min(0).max(1).default(0.7),
    durationHours: z.number().positive().max(240).default(24),
    startsInMin: z
      .number()
      .min(0)
      .max(7 * 24 * 60)
      .default(0),
  }),
  z.object({
    kind: z.literal('concert'),
    /** `hangzhou-olympic` (default), `huanglong`, or a position. */
    venue: z.union([z.string(), LatLng]).default('hangzhou-olympic'),
    /** Share of the people living within 40 km who go. @default 0.05 */
    share: z.number().min(0).max(1).default(0.05),
    /** When the show starts; the crowd arrives over the two hours before. @default 120 */
    startsInMin: z
      .number()
      .min(0)
      .max(7 * 24 * 60)
      .default(120),
    durationHours: z.number().positive().max(24).default(3),
  }),
  z.object({
    kind: z.literal('holiday'),
    /** A named attraction (`west-lake` by default) or a position. */
    area: z.union([z.string(), LatLng]).default('west-lake'),
    /** Share of the whole province's subscribers who visit each day. @default 0.04 */
    share: z.number().min(0).max(1).default(0.04),
    days: z.number().int().min(1).max(14).default(3),
    startsInMin: z
      .number()
      .min(0)
      .max(7 * 24 * 60)
      .default(0),
  }),
]);
export type ScenarioRequest = z.input<typeof ScenarioRequest>;
export type ScenarioSpec = z.output<typeof ScenarioRequest>;

export const ScenarioInfo = z.object({
  id: z.string(),
  kind: z.enum(SCENARIO_KINDS),
  /** Simulated start and end, epoch ms. */
  startsAt: z.number(),
  endsAt: z.number(),
  /** Subscribers the scenario moves. */
  people: z.number().int(),
});
export type ScenarioInfo = z.infer<typeof ScenarioInfo>;

export const ScenarioReply = z.union([
  z.object({ ok: z.literal(true), scenario: ScenarioInfo }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);
export type ScenarioReply = z.infer<typeof ScenarioReply>;

/** What the portal shows as "events flowing". */
export const IngestStatus = z.object({
  simulator: z
    .object({
      running: z.boolean(),
      subscribers: z.number().int(),
      cells: z.number().int(),
      /** Simulated now, epoch ms, and the speed factor (0 = as fast as possible). */
      simTime: z.number(),
      speed: z.number(),
      eventsPerSecond: z.number(),
      eventsTotal: z.number(),
      scenarios: z.array(ScenarioInfo),
    })
    .nullable(),
  feeds: z.object({ accepted: z.number(), rejected: z.number() }),
});
export type IngestStatus = z.infer<typeof IngestStatus>;
