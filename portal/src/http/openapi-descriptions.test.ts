import { describe, expect, it } from 'vitest';
import { schemaFields } from '../../web/api-docs/schema-fields.ts';
import { accountRoutes } from '../api/accounts/routes.ts';
import { apiKeyRoutes } from '../api/api-keys/routes.ts';
import { departmentRoutes } from '../api/departments/routes.ts';
import { enterpriseRoutes } from '../api/enterprises/routes.ts';
import { feedbackRoutes } from '../api/feedback/routes.ts';
import { homeRoutes } from '../api/home/routes.ts';
import { operatorLedgerRoutes } from '../api/ledger/operator-routes.ts';
import { messageRoutes } from '../api/messages/routes.ts';
import { reviewRoutes } from '../api/review/routes.ts';
import { v1Routes } from '../api/v1/routes.ts';
import { profileRoutes } from '../api/accounts/profile-routes.ts';
import { authRoutes } from '../api/auth/routes.ts';
import { totpRoutes } from '../api/auth/totp-routes.ts';
import { INSIGHT_ROUTES } from '../api/insight/index.ts';
import { settingsRoutes } from '../api/settings/routes.ts';
import { signatureRoutes } from '../api/signatures/routes.ts';
import { router } from './openapi.ts';

type Op = {
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
};

/** Every request and response field of the given route groups, as the API page lists them (#23). */
async function fields(groups: readonly { routes: unknown }[]) {
  const app = router();
  for (const g of groups) app.route('/', g as ReturnType<typeof router>);
  app.doc31('/api/openapi.json', { openapi: '3.1.0', info: { title: 'test', version: '1' } });
  const doc = (await (await app.request('/api/openapi.json')).json()) as {
    paths: Record<string, Record<string, Op>>;
    components: { schemas: Record<string, unknown> };
  };
  const out: { where: string; name: string; description: string }[] = [];
  for (const [path, ops] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(ops)) {
      const bodies = [
        ...Object.values(op.requestBody?.content ?? {}).map((c) => ['request', c.schema] as const),
        ...Object.entries(op.responses ?? {}).flatMap(([code, r]) => Object.values(r.content ?? {}).map((c) => [code, c.schema] as const)),
      ];
      for (const [part, schema] of bodies)
        for (const f of schemaFields(schema, doc.components?.schemas ?? {}))
          out.push({ where: `${method} ${path} ${part}`, name: f.name, description: f.description });
    }
  return out;
}

describe('the API document describes every field of the documented areas (#23)', () => {
  for (const [area, groups] of [
    ['accounts', [accountRoutes, profileRoutes]],
    ['auth', [authRoutes, totpRoutes]],
    ['signatures', [signatureRoutes]],
    ['settings', [settingsRoutes]],
    ['insight', INSIGHT_ROUTES],
    ['departments', [departmentRoutes]],
    ['review', [reviewRoutes]],
    ['operator', [enterpriseRoutes, operatorLedgerRoutes]],
    ['home', [homeRoutes]],
    ['messages', [messageRoutes]],
    ['feedback', [feedbackRoutes]],
    // Few fields each: one area, so that the guard against an empty document still holds.
    ['api-keys and v1', [apiKeyRoutes, v1Routes]],
  ] as const)
    it(area, async () => {
      const all = await fields(groups);
      expect(all.length).toBeGreaterThan(10);
      const bare = all.filter((f) => f.description.trim() === '');
      expect(bare.map((f) => `${f.where}: ${f.name}`)).toEqual([]);
    });
});
