import type { SmsJob } from '@geo/messaging';
import type { PortalConfig } from '../../config.ts';
import type { Portal } from '../../portal.ts';
import { login, loginAdmin, loginSub, nextIp, testPortal, type Client } from '../../test/harness.ts';
import { hashPassword } from '../../auth/password.ts';
import { startIndustry, type IndustryOptions, type RunningIndustry } from './dispatch/runtime.ts';

/**
 * A test portal (PGlite in memory, demo seed) with the industry dispatcher started on a recording
 * publisher; requests go through the portal's whole app (its middleware and its one error handler).
 */
export interface IndustryTestApp {
  portal: Portal;
  industry: RunningIndustry;
  /** Jobs handed to the publisher (when no NATS connection is given). */
  jobs: SmsJob[];
  as(client: Client): Requester;
  anonymous: Requester;
  stop(): Promise<void>;
}

export type Requester = (
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<{ status: number; body: any; headers: Headers; bytes: Uint8Array }>;

export async function industryTestApp({
  portal: portalCfg,
  ...opts
}: IndustryOptions & { portal?: Partial<PortalConfig> } = {}): Promise<IndustryTestApp> {
  const portal = await testPortal(portalCfg);
  const jobs: SmsJob[] = [];
  const industry = await startIndustry(portal.deps, {
    tickMs: 3_600_000,
    ...(opts.nc ? {} : { publisher: { publish: async (js) => void jobs.push(...js) } }),
    ...opts,
  });
  const make =
    (headers: Record<string, string>, csrf?: string): Requester =>
    async (method, path, body, extra = {}) => {
      const isForm = body instanceof FormData;
      const res = await portal.request(path, {
        method,
        headers: {
          ...headers,
          ...(body !== undefined && !isForm ? { 'content-type': 'application/json' } : {}),
          ...(method !== 'GET' && csrf ? { 'x-csrf-token': csrf } : {}),
          ...extra,
        },
        body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
      });
      const bytes = new Uint8Array(await res.arrayBuffer());
      let parsed: any;
      if ((res.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(new TextDecoder().decode(bytes));
      return { status: res.status, body: parsed, headers: res.headers, bytes };
    };
  return {
    portal,
    industry,
    jobs,
    as: (client) => make({ cookie: client.cookie, 'x-forwarded-for': nextIp() }, client.csrf),
    anonymous: make({}),
    async stop() {
      await industry.stop();
      await portal.stop();
    },
  };
}

/** A second enterprise with its admin, to prove tenants cannot reach each other's data. */
export async function otherEnterpriseAdmin(portal: Portal): Promise<Client> {
  const db = portal.deps.db;
  await db.query(
    `INSERT INTO enterprises (id, name, quota, access_number) VALUES ('other-ent', '别家公司', 1000, '1069000222') ON CONFLICT DO NOTHING`,
  );
  await db.query(
    `INSERT INTO accounts (id, enterprise_id, name, display_name, role, password_hash) VALUES ('other-admin', 'other-ent', 'other_admin', '别家管理员', 'admin', $1) ON CONFLICT DO NOTHING`,
    [await hashPassword('Other12345', 10)],
  );
  await db.query(
    `INSERT INTO signatures (id, enterprise_id, text, status, is_default) VALUES ('other-sig', 'other-ent', '别家', 'approved', true) ON CONFLICT DO NOTHING`,
  );
  return login(portal, 'other_admin', 'Other12345');
}

/** A sub-account of the demo enterprise with exactly these permissions. */
export async function subWith(portal: Portal, name: string, permissions: string[], dept = 'demo-dept-ops'): Promise<Client> {
  await portal.deps.db.query(
    `INSERT INTO accounts (id, enterprise_id, department_id, name, display_name, role, permissions, password_hash) VALUES ($1, 'demo-enterprise', $2, $1, $1, 'sub', $3, $4) ON CONFLICT DO NOTHING`,
    [name, dept, JSON.stringify(permissions), await hashPassword('Sub12345678', 10)],
  );
  return login(portal, name, 'Sub12345678');
}

/** Starts an address-book import and polls its job until it is done or failed. */
export async function importAndWait(
  req: Requester,
  book: 'personal' | 'enterprise',
  form: FormData,
): Promise<{ status: number; body: any; polls: number }> {
  const start = await req('POST', `/api/industry/books/${book}/import`, form);
  if (start.status !== 202) return { ...start, polls: 0 };
  for (let polls = 1; ; polls++) {
    const r = await req('GET', `/api/industry/imports/${start.body.jobId}`);
    if (r.status !== 200 || r.body.phase === 'done' || r.body.phase === 'failed') return { ...r, polls };
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** A test app with the demo admin, its sub-account, another enterprise's admin, and one send of each demo account. */
export interface MailboxFixture {
  t: IndustryTestApp;
  admin: Requester;
  sub: Requester;
  other: Requester;
  /** The sub-account's send (subject 季度会议, two numbers). */
  firstId: string;
}

export async function mailboxFixture(): Promise<MailboxFixture> {
  const t = await industryTestApp();
  const admin = t.as(await loginAdmin(t.portal));
  const sub = t.as(await loginSub(t.portal));
  const other = t.as(await otherEnterpriseAdmin(t.portal));
  const firstId: string = (
    await sub('POST', '/api/industry/sends', { recipients: '13800138000 13900139000', subject: '季度会议', content: '周五开会' })
  ).body.id;
  await admin('POST', '/api/industry/sends', {
    recipients: '18900000001',
    content: '管理员的通知内容比较长一些超过二十个字用于默认主题的测试',
  });
  return { t, admin, sub, other, firstId };
}
