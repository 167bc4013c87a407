import { request } from 'node:http';
import { createLogger } from '@geo/infra';
import { createPortal, type Portal } from '../portal.ts';
import type { PortalConfig } from '../config.ts';
import type { SecretsConfig } from '../auth/secrets.ts';
import { DEMO_CREDENTIALS } from '../demo/credentials.ts';

/** PGlite's first open takes ~3 s alone, minutes on a 2-core machine shared with busy neighbours: a safety limit, not a measure. */
export const START_TIMEOUT = 300_000;

/** A portal on PGlite in memory, with the captcha test switch on and a cheap scrypt cost. */
export async function testPortal(extra: Partial<PortalConfig & SecretsConfig> = {}): Promise<Portal> {
  const cfg: PortalConfig & SecretsConfig = {
    port: 0,
    pgliteDir: 'memory://',
    demo: true,
    captchaTestMode: true,
    scryptLogN: 10,
    trustProxy: true,
    clickhouseUrl: undefined,
    ...extra,
  };
  return createPortal(cfg, createLogger('portal-test', 'silent'));
}

export interface Client {
  cookie: string;
  csrf: string;
  me: { id: string; enterpriseId: string | null; role: string; permissions: string[] };
  req(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any; headers: Headers }>;
  /** A request with a ready-made body (FormData for uploads). */
  reqRaw(method: string, path: string, body: BodyInit): Promise<{ status: number; body: any }>;
}

let ipSeq = 0;
/** A distinct client address per login, so that throttling tests do not disturb the others. */
export const nextIp = () => `10.0.${Math.floor(++ipSeq / 250)}.${ipSeq % 250}`;

export async function call(p: Portal, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await p.request(path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export async function solveCaptcha(p: Portal, ip = nextIp()) {
  const c = await call(p, 'GET', '/api/auth/captcha', undefined, { 'x-forwarded-for': ip });
  return { captchaId: c.body.captchaId as string, captcha: c.body.testAnswer as string };
}

export async function login(p: Portal, name: string, password: string, ip = nextIp()): Promise<Client> {
  const cap = await solveCaptcha(p, ip);
  const r = await call(p, 'POST', '/api/auth/login', { name, password, ...cap }, { 'x-forwarded-for': ip });
  if (r.status !== 200) throw new Error(`login ${name} failed: ${r.status} ${JSON.stringify(r.body)}`);
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
  const client: Client = {
    cookie,
    csrf: r.body.csrfToken,
    me: r.body,
    req: (method, path, body, headers = {}) =>
      call(p, method, path, body, {
        cookie,
        'x-forwarded-for': ip,
        ...(method === 'GET' ? {} : { 'x-csrf-token': client.csrf }),
        ...headers,
      }),
    reqRaw: async (method, path, body) => {
      const res = await p.request(path, { method, body, headers: { cookie, 'x-forwarded-for': ip, 'x-csrf-token': client.csrf } });
      const text = await res.text();
      return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
    },
  };
  return client;
}

export const demo = DEMO_CREDENTIALS;
export const loginAdmin = (p: Portal) => login(p, demo.admin.name, demo.admin.password);
export const loginSub = (p: Portal) => login(p, demo.sub.name, demo.sub.password);
export const loginOperator = (p: Portal) => login(p, demo.operator.name, demo.operator.password);

/** A second enterprise with its own admin, for cross-tenant tests. */
export async function otherEnterprise(p: Portal, tag: string): Promise<{ enterpriseId: string; admin: Client; deptId: string }> {
  const { hashPassword } = await import('../auth/password.ts');
  const db = p.deps.db;
  const enterpriseId = `ent-${tag}`;
  await db.query(`INSERT INTO enterprises (id, name, quota) VALUES ($1, $2, 10)`, [enterpriseId, `其他集团${tag}`]);
  await db.query(`INSERT INTO departments (id, enterprise_id, name) VALUES ($1, $2, '其他部门')`, [`dept-${tag}`, enterpriseId]);
  await db.query(
    `INSERT INTO accounts (id, enterprise_id, department_id, name, role, password_hash) VALUES ($1, $2, $3, $4, 'admin', $5)`,
    [`admin-${tag}`, enterpriseId, `dept-${tag}`, `admin-${tag}`, await hashPassword('Other-pass-1', 10)],
  );
  return { enterpriseId, admin: await login(p, `admin-${tag}`, 'Other-pass-1'), deptId: `dept-${tag}` };
}

/** What {@link postSpaces} got back. */
export interface SpacesAnswer {
  status: number;
  text: string;
  /** How many bytes of the body were written when the answer's head arrived. */
  sentBeforeAnswer: number;
}

/**
 * POSTs a JSON-typed body of `total` spaces to `url` over a socket of its own (node:http, no agent),
 * in 64 KiB pieces, as a client uploading a large file does; `headers` add to or replace
 * `content-type` and `content-length`. With `stopAtAnswer` the client stops sending once the
 * answer's head arrives (a write failing after it is expected: the server closes) and settles when
 * the answer is read; without, it writes the whole body, and settles once it is written and the
 * answer read, any failing write failing the call.
 * @example const r = await postSpaces(`${portal.url}/api/auth/login`, 30 * 1024 * 1024, { stopAtAnswer: true });
 */
export function postSpaces(
  url: string,
  total: number,
  opts: { headers?: Record<string, string>; stopAtAnswer?: boolean } = {},
): Promise<SpacesAnswer> {
  const u = new URL(url);
  const stopAtAnswer = opts.stopAtAnswer ?? false;
  return new Promise((resolve, reject) => {
    let sent = 0;
    let sentBeforeAnswer = -1;
    let answer: SpacesAnswer | undefined;
    let written = false;
    const settle = () => answer && (written || stopAtAnswer) && resolve(answer);
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': total, ...opts.headers },
      },
      (res) => {
        sentBeforeAnswer = sent;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          answer = { status: res.statusCode ?? 0, text, sentBeforeAnswer };
          settle();
        });
      },
    );
    const answered = () => stopAtAnswer && sentBeforeAnswer >= 0;
    req.on('error', (err) => (answered() ? undefined : reject(err)));
    const piece = Buffer.alloc(64 * 1024, 0x20);
    const next = () => {
      if (answered()) return;
      if (sent >= total) {
        if (!stopAtAnswer) req.end(() => ((written = true), settle()));
        return;
      }
      const n = Math.min(piece.length, total - sent);
      sent += n;
      req.write(piece.subarray(0, n), (err) => (!err ? setImmediate(next) : stopAtAnswer ? undefined : reject(err)));
    };
    next();
  });
}
