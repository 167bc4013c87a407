import { createHash } from 'node:crypto';
import type { Portal } from '@geo/portal';
import { DEMO_CREDENTIALS } from '@geo/portal/testing';

/**
 * A portal on PGlite in memory with the demo enterprise, the captcha test switch and a cheap scrypt
 * cost, and the time its first open may take: the portal's own test portal.
 */
export { testPortal as startTestPortal, START_TIMEOUT as PORTAL_START_TIMEOUT } from '@geo/portal/testing';

export interface Reply {
  status: number;
  body: any;
  headers: Headers;
  text: string;
}

let ipSeq = 0;
/** A client address of its own per login, so login throttling never mixes cases. */
const nextIp = () => `10.77.${Math.floor(++ipSeq / 250)}.${ipSeq % 250}`;

export async function call(p: Portal, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const isRaw = body instanceof FormData || typeof body === 'string' || body instanceof Uint8Array;
  const res = await p.request(path, {
    method,
    headers: { ...(body !== undefined && !isRaw ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : isRaw ? (body as BodyInit) : JSON.stringify(body),
  });
  const type = res.headers.get('content-type') ?? '';
  let text = '';
  let parsed: any;
  if (type.includes('sheet') || type.includes('octet') || type.includes('image') || type.includes('pdf')) {
    parsed = new Uint8Array(await res.arrayBuffer());
  } else {
    text = await res.text();
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
  }
  return { status: res.status, body: parsed, headers: res.headers, text };
}

export interface Client {
  name: string;
  cookie: string;
  sid: string;
  csrf: string;
  ip: string;
  me: { id: string; enterpriseId: string | null; role: string; permissions: string[] };
  /** A request with this login's cookie, address and (for unsafe methods) CSRF token; `headers` override. */
  req(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
}

export async function login(p: Portal, name: string, password: string): Promise<Client> {
  const ip = nextIp();
  const cap = await call(p, 'GET', '/api/auth/captcha', undefined, { 'x-forwarded-for': ip });
  const r = await call(
    p,
    'POST',
    '/api/auth/login',
    { name, password, captchaId: cap.body.captchaId, captcha: cap.body.testAnswer },
    { 'x-forwarded-for': ip },
  );
  if (r.status !== 200) throw new Error(`login ${name} failed: ${r.status} ${r.text}`);
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
  const client: Client = {
    name,
    cookie,
    sid: cookie.slice(cookie.indexOf('=') + 1),
    csrf: r.body.csrfToken,
    ip,
    me: r.body,
    req: (method, path, body, headers = {}) =>
      call(p, method, path, body, {
        cookie,
        'x-forwarded-for': ip,
        ...(method === 'GET' ? {} : { 'x-csrf-token': client.csrf }),
        ...headers,
      }),
  };
  return client;
}

export const loginDemoAdmin = (p: Portal) => login(p, DEMO_CREDENTIALS.admin.name, DEMO_CREDENTIALS.admin.password);
export const loginOperator = (p: Portal) => login(p, DEMO_CREDENTIALS.operator.name, DEMO_CREDENTIALS.operator.password);

/** The session row's key: the portal stores sha256 of the cookie value, never the value. */
export const sessionHash = (sid: string) => createHash('sha256').update(sid).digest('hex');

/** A second enterprise opened by the platform operator through the API, and its admin logged in. */
export async function openOtherEnterprise(p: Portal, tag: string): Promise<{ enterpriseId: string; admin: Client }> {
  const op = await loginOperator(p);
  const password = 'Other-pass-2024';
  const r = await op.req('POST', '/api/operator/enterprises', {
    name: `另一集团${tag}`,
    quota: 1000,
    adminName: `other-${tag}`,
    adminPassword: password,
  });
  if (r.status !== 200) throw new Error(`could not open an enterprise: ${r.status} ${r.text}`);
  return { enterpriseId: r.body.id, admin: await login(p, `other-${tag}`, password) };
}

/** Hostile strings for every text field: SQL (PostgreSQL and ClickHouse quoting), script, template and formula injection. */
export const INJECTION_STRINGS = [
  `'; DROP TABLE contacts; --`,
  `x' OR '1'='1`,
  `\\'; DROP TABLE sms_log; --`,
  `<script>alert(1)</script>`,
  `"><img src=x onerror=alert(1)>`,
  `=HYPERLINK("http://evil.example","点我")`,
  `{{7*7}}\${7*7}%s%n`,
] as const;

/** The error body every portal failure has: a stable code and a message a person can read. */
export function expectReadableError(r: Reply): { code: string; message: string } {
  const e = r.body?.error;
  if (!e || typeof e.code !== 'string' || typeof e.message !== 'string' || !e.message.trim()) {
    throw new Error(`expected { error: { code, message } }, got ${r.status} ${r.text.slice(0, 300)}`);
  }
  return e;
}
