import { createRoute } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import type { Feature, Role } from '../auth/permissions.ts';
import { caller, callerHolding, operator, type Principal } from './context.ts';
import { toErrorResponse } from './error-response.ts';
import { jsonBody, jsonOk, router, z } from './openapi.ts';
import { inEnterprise, operatorOnly, requires } from './route-access.ts';

const who = (role: Role, permissions: Feature[], enterpriseId: string | null = 'e1'): Principal => ({
  accountId: `a-${role}`,
  name: role,
  enterpriseId,
  departmentId: null,
  role,
  permissions: new Set(permissions),
  via: 'session',
});

const Seen = z.object({ account: z.string(), enterpriseId: z.string() });

/** A small app as the portal builds it: the session middleware sets the principal, one handler maps errors. */
function app(p: Principal | undefined) {
  const a = router();
  a.onError((err, c) => toErrorResponse(c, err));
  a.use(async (c, next) => {
    c.set('principal', p);
    await next();
  });
  return a
    .openapi(
      createRoute({
        method: 'post',
        path: '/contacts',
        middleware: [requires('contacts')],
        request: jsonBody(z.object({ name: z.string().min(1) })),
        responses: jsonOk(Seen),
      }),
      (c) => {
        const { p: me, enterpriseId } = caller(c);
        return c.json({ account: me.accountId, enterpriseId }, 200);
      },
    )
    .openapi(
      createRoute({ method: 'get', path: '/templates', middleware: [requires('templates', 'sms.send')], responses: jsonOk(Seen) }),
      (c) => c.json({ account: caller(c).p.accountId, enterpriseId: caller(c).enterpriseId }, 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/upload-templates/{kind}',
        middleware: [requires('contacts', 'sms.send')],
        request: { params: z.object({ kind: z.enum(['contacts', 'batch']) }) },
        responses: jsonOk(Seen),
      }),
      (c) => {
        const t = callerHolding(c, c.req.valid('param').kind === 'contacts' ? 'contacts' : 'sms.send');
        return c.json({ account: t.p.accountId, enterpriseId: t.enterpriseId }, 200);
      },
    )
    .openapi(createRoute({ method: 'get', path: '/undeclared', middleware: [requires('contacts')], responses: jsonOk(Seen) }), (c) => {
      const t = callerHolding(c, 'accounts');
      return c.json({ account: t.p.accountId, enterpriseId: t.enterpriseId }, 200);
    })
    .openapi(createRoute({ method: 'get', path: '/no-middleware', responses: jsonOk(Seen) }), (c) =>
      c.json({ account: caller(c).p.accountId, enterpriseId: caller(c).enterpriseId }, 200),
    )
    .openapi(
      createRoute({ method: 'get', path: '/operator', middleware: [operatorOnly], responses: jsonOk(z.object({ name: z.string() })) }),
      (c) => c.json({ name: operator(c).name }, 200),
    )
    .openapi(createRoute({ method: 'get', path: '/feedback', middleware: [inEnterprise], responses: jsonOk(Seen) }), (c) =>
      c.json({ account: caller(c).p.accountId, enterpriseId: caller(c).enterpriseId }, 200),
    );
}

const post = (p: Principal | undefined, body: unknown) =>
  app(p).request('/contacts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('a route names its permission once, in its middleware', () => {
  it('lets a caller holding the feature through and hands the handler who and which enterprise', async () => {
    const res = await post(who('sub', ['contacts']), { name: '张三' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ account: 'a-sub', enterpriseId: 'e1' });
  });

  it('refuses a caller without the feature with 403 before reading the body (no field list leaks)', async () => {
    const res = await post(who('sub', ['sms.send']), { bogus: 1 });
    expect(res.status).toBe(403);
    expect(JSON.stringify(await res.json())).not.toContain('name');
  });

  it('refuses the platform operator and strangers on an enterprise route', async () => {
    expect((await post(who('operator', [], null), { name: 'x' })).status).toBe(403);
    expect((await post(undefined, { name: 'x' })).status).toBe(401);
  });

  it('with several features, any one of them lets the caller through', async () => {
    expect((await app(who('sub', ['sms.send'])).request('/templates')).status).toBe(200);
    expect((await app(who('sub', ['templates'])).request('/templates')).status).toBe(200);
    expect((await app(who('sub', ['contacts'])).request('/templates')).status).toBe(403);
  });

  it('callerHolding picks one of the declared features by the request', async () => {
    const sender = app(who('sub', ['sms.send']));
    expect((await sender.request('/upload-templates/batch')).status).toBe(200);
    expect((await sender.request('/upload-templates/contacts')).status).toBe(403);
  });

  it('a handler cannot check a feature its route did not declare, nor read a caller its route never checked', async () => {
    const admin = app(who('admin', ['contacts', 'accounts']));
    expect((await admin.request('/undeclared')).status).toBe(500);
    expect((await admin.request('/no-middleware')).status).toBe(500);
  });

  it('operatorOnly hands the handler the operator and refuses an enterprise admin', async () => {
    const res = await app(who('operator', [], null)).request('/operator');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name: 'operator' });
    expect((await app(who('admin', ['contacts'])).request('/operator')).status).toBe(403);
  });

  it('inEnterprise lets any account of an enterprise through, whatever its permissions', async () => {
    expect((await app(who('sub', [])).request('/feedback')).status).toBe(200);
    expect((await app(who('operator', [], null)).request('/feedback')).status).toBe(403);
  });
});
