import type { Db } from '@geo/infra';

export interface Probe {
  name: string;
  kind: 'server' | 'service';
  ok: boolean;
  url?: string;
  version?: string;
  latencyMs?: number;
  detail?: string;
  checks?: Record<string, { ok: boolean; detail?: string }>;
  uptimeS?: number;
}

const TIMEOUT_MS = 2500;

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t = performance.now();
  const value = await fn();
  return { value, ms: Math.round(performance.now() - t) };
}

const fail = (p: Omit<Probe, 'ok'>, err: unknown): Probe => ({
  ...p,
  ok: false,
  detail:
    (err as Error).name === 'TimeoutError'
      ? `no answer within ${TIMEOUT_MS} ms`
      : (((err as Error).cause as Error)?.message ?? (err as Error).message),
});

/** NATS through its monitoring port: `/healthz` for health, `/varz` for the version. */
export async function probeNats(monitorUrl: string | undefined): Promise<Probe> {
  const base = { name: 'nats', kind: 'server' as const, url: monitorUrl };
  if (!monitorUrl) return { ...base, ok: false, detail: 'monitor URL not configured (SERVER_URLS.nats)' };
  try {
    const { value: res, ms } = await timed(() => fetch(new URL('/healthz', monitorUrl), { signal: AbortSignal.timeout(TIMEOUT_MS) }));
    const body = (await res.json().catch(() => ({}))) as { status?: string; error?: string };
    let version: string | undefined;
    try {
      const v = await fetch(new URL('/varz', monitorUrl), { signal: AbortSignal.timeout(TIMEOUT_MS) });
      version = ((await v.json()) as { version?: string }).version;
    } catch {
      // The version is a nicety; health is what counts.
    }
    return { ...base, ok: res.ok && body.status === 'ok', latencyMs: ms, version, detail: body.error ?? body.status };
  } catch (err) {
    return fail(base, err);
  }
}

/** ClickHouse over HTTP: `/ping` answers `Ok.`, then `SELECT version()`. */
export async function probeClickHouse(httpUrl: string | undefined): Promise<Probe> {
  const base = { name: 'clickhouse', kind: 'server' as const, url: httpUrl ? redact(httpUrl) : undefined };
  if (!httpUrl) return { ...base, ok: false, detail: 'URL not configured' };
  try {
    const u = new URL(httpUrl);
    const headers: Record<string, string> = {};
    if (u.username)
      headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
    const origin = `${u.protocol}//${u.host}`;
    const { value: ping, ms } = await timed(() => fetch(`${origin}/ping`, { signal: AbortSignal.timeout(TIMEOUT_MS), headers }));
    const text = (await ping.text()).trim();
    const v = await fetch(`${origin}/?query=${encodeURIComponent('SELECT version()')}`, {
      signal: AbortSignal.timeout(TIMEOUT_MS),
      headers,
    });
    const version = v.ok ? (await v.text()).trim() : undefined;
    return { ...base, ok: ping.ok && text === 'Ok.', latencyMs: ms, version, detail: text };
  } catch (err) {
    return fail(base, err);
  }
}

export async function probePostgres(db: Db): Promise<Probe> {
  const base = { name: 'postgresql', kind: 'server' as const, detail: db.kind === 'pglite' ? 'PGlite (embedded)' : 'PostgreSQL server' };
  try {
    const { value, ms } = await timed(() =>
      db.query<{ v: string; n: number }>('SELECT version() AS v, (SELECT count(*) FROM schema_migrations)::int AS n'),
    );
    const r = value.rows[0]!;
    return { ...base, ok: true, latencyMs: ms, version: r.v.split(' on ')[0], detail: `${base.detail}; ${r.n} migrations applied` };
  } catch (err) {
    return fail(base, err);
  }
}

/** A service's `/healthz` (200 or 503 with `{service, ok, uptimeS, checks}`). */
export async function probeService(name: string, baseUrl: string): Promise<Probe> {
  const base = { name, kind: 'service' as const, url: baseUrl };
  try {
    const { value: res, ms } = await timed(() => fetch(new URL('/healthz', baseUrl), { signal: AbortSignal.timeout(TIMEOUT_MS) }));
    const body = (await res.json().catch(() => undefined)) as
      { ok?: boolean; uptimeS?: number; checks?: Record<string, { ok: boolean; detail?: string }> } | undefined;
    if (!body) return { ...base, ok: false, latencyMs: ms, detail: `HTTP ${res.status}, not JSON` };
    const bad = Object.entries(body.checks ?? {})
      .filter(([, c]) => !c.ok)
      .map(([n, c]) => `${n}: ${c.detail ?? 'down'}`);
    return {
      ...base,
      ok: res.ok && body.ok === true,
      latencyMs: ms,
      uptimeS: body.uptimeS,
      checks: body.checks,
      detail: bad.join('; ') || undefined,
    };
  } catch (err) {
    return fail(base, err);
  }
}

function redact(url: string): string {
  const u = new URL(url);
  u.password = u.password ? '***' : '';
  return u.toString();
}
