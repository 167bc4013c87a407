import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { AlertingEnv } from './config.ts';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const run = (env: Record<string, string>) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', CLI, 'help'], { env: { ...process.env, ...env }, timeout: 60_000 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
  );

/** An operator's boundaries file for areas named by code (#21): read by the CLI and the service alike. */
describe('ADMIN_BOUNDARIES_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'alerting-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is a setting of the service', () => {
    expect(AlertingEnv.parse({ ADMIN_BOUNDARIES_FILE: '/srv/boundaries-3.geojson' }).ADMIN_BOUNDARIES_FILE).toBe(
      '/srv/boundaries-3.geojson',
    );
    expect(AlertingEnv.parse({}).ADMIN_BOUNDARIES_FILE).toBeUndefined();
  });

  it('is read by the CLI: a file that is no boundaries file stops it naming the file, a good one is taken', async () => {
    const bad = join(dir, 'bad.geojson');
    writeFileSync(bad, JSON.stringify({ type: 'Feature' }));
    const refused = await run({ ADMIN_BOUNDARIES_FILE: bad });
    expect(refused.code).not.toBe(0);
    expect(refused.out).toContain(`${bad}: not a GeoJSON FeatureCollection`);
    const good = join(dir, 'good.geojson');
    const square = [
      [
        [120.34, 30.28],
        [120.4, 30.28],
        [120.4, 30.33],
        [120.34, 30.33],
        [120.34, 30.28],
      ],
    ];
    writeFileSync(
      good,
      JSON.stringify({
        type: 'FeatureCollection',
        features: [{ type: 'Feature', properties: { adcode: 330114 }, geometry: { type: 'Polygon', coordinates: square } }],
      }),
    );
    const taken = await run({ ADMIN_BOUNDARIES_FILE: good });
    expect(taken.code).toBe(0);
    expect(taken.out).toContain('ADMIN_BOUNDARIES_FILE');
  }, 120_000);
});
