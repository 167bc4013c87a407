import { describe, expect, it } from 'vitest';
import { router } from '../../http/openapi.ts';
import { industryRoutes } from './index.ts';

describe('industry OpenAPI document', () => {
  it('documents the endpoints enterprise systems call: send, check, upload, status and replies', async () => {
    const app = router();
    for (const r of industryRoutes) app.route('/', r);
    app.doc31('/api/openapi.json', { openapi: '3.1.0', info: { title: 'test', version: '1' } });
    const res = await app.request('/api/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    for (const [path, method] of [
      ['/api/industry/sends', 'post'],
      ['/api/industry/sends/check', 'post'],
      ['/api/industry/uploads', 'post'],
      ['/api/industry/sends/{id}', 'get'],
      ['/api/industry/inbox', 'get'],
      ['/api/industry/books/{book}/import', 'post'],
      ['/api/industry/stats/export', 'get'],
    ] as const) {
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    }
  });

  it('documents an upload job as the import view without its rejected lines, under its own name', async () => {
    const app = router();
    for (const r of industryRoutes) app.route('/', r);
    app.doc31('/api/openapi.json', { openapi: '3.1.0', info: { title: 'test', version: '1' } });
    type Obj = { properties: Record<string, unknown>; required: string[] };
    const doc = (await (await app.request('/api/openapi.json')).json()) as { components: { schemas: Record<string, Obj> } };
    const { ContactImport: view, IndustryUploadJob: job } = doc.components.schemas;
    const { rejected: _r, ...rest } = view!.properties;
    expect(job!.properties).toEqual(rest);
    expect(job!.required).toEqual(view!.required.filter((k) => k !== 'rejected'));
  });
});
