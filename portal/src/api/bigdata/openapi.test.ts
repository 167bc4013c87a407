import { describe, expect, it } from 'vitest';
import { router } from '../../http/openapi.ts';
import { INSIGHT_ROUTES } from '../insight/index.ts';
import { CAP_ROUTES } from './cap/cap-routes.ts';
import { BIGDATA_ROUTES } from './index.ts';

type Op = {
  summary?: string;
  parameters?: { in: string; name: string }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
};

/** The document as `/api/openapi.json` builds it (app.ts mounts these groups and calls doc31). */
async function document() {
  const app = router();
  for (const r of [...BIGDATA_ROUTES, ...CAP_ROUTES, ...INSIGHT_ROUTES]) app.route('/', r);
  app.doc31('/api/openapi.json', { openapi: '3.1.0', info: { title: 'test', version: '1' } });
  const res = await app.request('/api/openapi.json');
  expect(res.status).toBe(200);
  return {
    doc: (await res.json()) as { paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, unknown> } },
    app,
  };
}

describe('big-data console and insight in the OpenAPI document', () => {
  it('documents every route the console serves, with a summary and a response', async () => {
    const { doc } = await document();
    const served = [...BIGDATA_ROUTES, ...CAP_ROUTES, ...INSIGHT_ROUTES].flatMap((r) =>
      r.routes.map((x) => [x.method.toLowerCase(), x.path.replace(/:(\w+)/g, '{$1}')] as const),
    );
    expect(served.length).toBeGreaterThanOrEqual(24);
    for (const [method, path] of served) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op!.summary, `${method} ${path}`).toBeTruthy();
      expect(op!.responses['200'], `${method} ${path}`).toBeDefined();
    }
  });

  it('gives request and response schemas: bodies, path parameters, JSON answers, files and event streams', async () => {
    const { doc } = await document();
    const op = (m: string, p: string) => doc.paths[p]![m]!;
    const ref = (o: Op, type = 'application/json') => JSON.stringify(o.responses['200']!.content?.[type]?.schema);
    expect(Object.keys(op('post', '/api/bigdata/tasks').requestBody!.content)).toEqual(['application/json']);
    expect(ref(op('post', '/api/bigdata/tasks'))).toContain('BigdataSubmitted');
    expect(ref(op('post', '/api/bigdata/reach'))).toContain('BigdataReach');
    expect(JSON.stringify(op('post', '/api/bigdata/reach').requestBody)).toContain('BigdataReachRequest');
    expect(Object.keys(op('post', '/api/bigdata/letters').requestBody!.content)).toEqual(['multipart/form-data']);
    expect(ref(op('get', '/api/bigdata/tasks'))).toContain('BigdataTaskPage');
    expect(op('get', '/api/bigdata/tasks').parameters!.map((p) => p.name)).toEqual(
      expect.arrayContaining(['from', 'to', 'alertType', 'state', 'name', 'page']),
    );
    expect(op('post', '/api/bigdata/tasks/{id}/stop').parameters).toContainEqual(expect.objectContaining({ in: 'path', name: 'id' }));
    expect(ref(op('post', '/api/bigdata/tasks/{id}/pause'))).toContain('BigdataTransition');
    expect(op('get', '/api/bigdata/tasks/export').responses['200']!.content).toHaveProperty([
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    ]);
    expect(op('get', '/api/bigdata/tasks/{id}/progress').responses['200']!.content).toHaveProperty(['text/event-stream']);
    expect(op('get', '/api/insight/live').responses['200']!.content).toHaveProperty(['text/event-stream']);
    expect(op('get', '/api/bigdata/boundaries/{level}').responses['200']!.content).toHaveProperty(['application/geo+json']);
    expect(ref(op('post', '/api/insight/metrics'))).toContain('InsightRegionMetrics');
    expect(ref(op('get', '/api/insight/heatmap'))).toContain('InsightHeatmap');
    for (const name of [
      'BigdataTaskForm',
      'BigdataRegionPart',
      'GeoJsonPolygon',
      'GeoJsonMultiPolygon',
      'BigdataTask',
      'BigdataTaskDetail',
      'BigdataProgress',
      'BigdataOptions',
      'BigdataArea',
      'InsightRegionMetrics',
      'InsightHeatmap',
      'InsightActiveTasks',
    ])
      expect(doc.components.schemas, name).toHaveProperty([name]);
  });

  it('documents the task body field by field, with an example and the accepted region shapes', async () => {
    const { doc } = await document();
    type Schema = { properties?: Record<string, unknown>; required?: string[]; example?: unknown; description?: string; anyOf?: unknown[] };
    const form = doc.components.schemas.BigdataTaskForm as Schema;
    for (const f of [
      'alertType',
      'region',
      'subject',
      'content',
      'signature',
      'startDate',
      'endDate',
      'windows',
      'frequency',
      'rules',
      'quota',
    ])
      expect(form.properties, f).toHaveProperty([f]);
    expect(form.required).toEqual(expect.arrayContaining(['alertType', 'region', 'subject', 'content', 'startDate', 'endDate']));
    expect(JSON.stringify(form.example)).toContain('"type":"Polygon"');
    const part = JSON.stringify(doc.components.schemas.BigdataRegionPart);
    for (const k of [
      'admin',
      'polygon',
      'multipolygon',
      'rectangle',
      'circle',
      'polyline',
      'GeoJsonPolygon',
      'GeoJsonMultiPolygon',
      'GeoJsonFeature',
    ])
      expect(part, k).toContain(k);
    expect(JSON.stringify(doc.paths['/api/bigdata/tasks']!.post!.requestBody)).toContain('BigdataSubmit');
    expect(JSON.stringify(doc.components.schemas.BigdataSubmit)).toContain('BigdataTaskForm');
  });

  it('documents the CAP 1.2 import (XML, JSON or upload) and export', async () => {
    const { doc } = await document();
    for (const path of ['/api/bigdata/cap', '/api/bigdata/cap/draft', '/api/bigdata/cap/preview'])
      expect(Object.keys(doc.paths[path]!.post!.requestBody!.content), path).toEqual(
        expect.arrayContaining(['application/cap+xml', 'application/xml', 'application/json', 'multipart/form-data']),
      );
    expect(JSON.stringify(doc.paths['/api/bigdata/cap']!.post!.responses['200']!.content)).toContain('BigdataCapImported');
    expect(doc.paths['/api/bigdata/tasks/{id}/cap']!.get!.responses['200']!.content).toHaveProperty(['application/cap+xml']);
  });
});
