import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@geo/infra';
import type { AreaGeometry } from '../contract.ts';
import type { RunningEngine } from '../engine/run-engine.ts';
import {
  circleTask,
  event,
  jobsOf,
  numbers,
  offset,
  ownNats,
  publishEvents,
  sleep,
  startEngine,
  until,
  type OwnNats,
} from '../testing/engine-kit.ts';
import { setAdminAreaOverlay } from './admin-areas.ts';
import { installIngestAdminAreas } from './ingest-admin-areas.ts';

/**
 * A district the shipped polygons predate (钱塘区, 330114), given a boundary by an operator's file
 * (#21): a task over it reaches the person inside and nobody outside, whether the task carries the
 * loaded geometry (the portal's submit) or names the code alone with the file installed (the CLI).
 * Without the file, a task naming the code alone is refused, never run to reach nobody.
 */
const QIANTANG: AreaGeometry = {
  type: 'Polygon',
  coordinates: [
    [
      [120.34, 30.28],
      [120.4, 30.28],
      [120.4, 30.33],
      [120.34, 30.33],
      [120.34, 30.28],
    ],
  ],
};
const INSIDE: [number, number] = [120.37, 30.3];
/** 2 km west of the square's edge: still in 杭州, outside 钱塘区 as loaded. */
const OUTSIDE = offset([120.34, 30.3], -2_000, 0);

let own: OwnNats;
let nc: NatsConnection;
let eng: RunningEngine;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'boundaries-'));
  own = await ownNats('loaded-boundaries');
  nc = own.nc;
  eng = await startEngine(nc, 'loaded-boundaries');
}, 60_000);
afterAll(async () => {
  setAdminAreaOverlay(undefined);
  await eng?.stop();
  await own?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('boundaries loaded over the shipped geography', () => {
  it('refuses a task naming 钱塘区 by code while no boundary is known for it', async () => {
    installIngestAdminAreas();
    await expect(
      eng.store.submit('qt-no-boundary', { ...circleTask(INSIDE, 100), region: { parts: [{ kind: 'admin', code: '330114' }] } }),
    ).rejects.toThrow(/no boundary is known for administrative area 330114/);
  });

  it('reaches the person inside the loaded 钱塘区 and not the one outside, by carried geometry and by code with the file', async () => {
    const [inside, outside] = numbers(2);
    const cell = (tag: string) => `qt-${tag}-${Math.random().toString(36).slice(2, 8)}`;
    await publishEvents(nc, [
      event(inside!, 'cmcc', INSIDE, { cell: cell('in') }),
      event(outside!, 'cucc', OUTSIDE, { cell: cell('out') }),
    ]);
    await until('both seen', () => eng.engine.presence.indexOf(inside!) >= 0 && eng.engine.presence.indexOf(outside!) >= 0);

    // The portal's way: the admin part carries the geometry of the active version.
    await eng.store.submit('qt-carried', {
      ...circleTask(INSIDE, 100),
      region: { parts: [{ kind: 'admin', code: '330114', geometry: QIANTANG }] },
    });
    // The CLI's way: the code alone, with the portal's download of the version installed.
    const file = join(dir, 'boundaries-v1.geojson');
    writeFileSync(
      file,
      JSON.stringify({
        type: 'FeatureCollection',
        features: [{ type: 'Feature', properties: { adcode: '330114', name: '钱塘区' }, geometry: QIANTANG }],
      }),
    );
    installIngestAdminAreas(undefined, { boundariesFile: file });
    await eng.store.submit('qt-by-code', { ...circleTask(INSIDE, 100), region: { parts: [{ kind: 'admin', code: '330114' }] } });

    const sent = async (id: string) => (await jobsOf(nc, id)).map((j) => j.msisdn).filter((m) => m === inside || m === outside);
    await until(
      'both tasks sent to the person inside',
      async () => (await sent('qt-carried')).length > 0 && (await sent('qt-by-code')).length > 0,
    );
    await sleep(1_000);
    expect(await sent('qt-carried')).toEqual([inside]);
    expect(await sent('qt-by-code')).toEqual([inside]);
  });
});
