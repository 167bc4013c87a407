import type { Db, Logger, Queryable, SqlRow } from '@geo/infra';
import type { AdminArea } from '@geo/ingest';
import { iso } from '../../../http/context.ts';
import { activeBoundaryVersion, setActiveBoundaries, shippedAreas } from '../geography.ts';

/** One upload of boundaries, as the operator's list shows it. */
export interface BoundaryVersion {
  id: number;
  createdAt: string;
  createdBy: string;
  fileName: string;
  /** sha256 of the file's bytes (hex). */
  fileHash: string;
  /** Codes the file gave a boundary they had none of, or that were new. */
  added: string[];
  /** Codes whose boundary the file redrew. */
  replaced: string[];
  /** Areas this version sets over the shipped data (its file's and those of the version before it). */
  areaCount: number;
  active: boolean;
  activatedAt: string | null;
  activatedBy: string;
}

const COLUMNS = `id, created_at, created_by_name, file_name, file_hash, added, replaced, jsonb_array_length(areas) AS area_count,
  active, activated_at, activated_by_name`;
const toVersion = (r: SqlRow): BoundaryVersion => ({
  id: Number(r.id),
  createdAt: iso(r.created_at)!,
  createdBy: r.created_by_name,
  fileName: r.file_name,
  fileHash: r.file_hash,
  added: r.added,
  replaced: r.replaced,
  areaCount: Number(r.area_count),
  active: r.active,
  activatedAt: iso(r.activated_at),
  activatedBy: r.activated_by_name,
});

/** Uploads and activations are one at a time across portal instances (an advisory lock on a server). */
async function lock(db: Db, tx: Queryable): Promise<void> {
  if (db.kind === 'postgres') await tx.query('SELECT pg_advisory_xact_lock(727275)');
}

export async function listVersions(db: Db): Promise<BoundaryVersion[]> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM admin_boundary_versions ORDER BY id DESC`);
  return rows.map(toVersion);
}

async function areasOf(q: Queryable, id: number): Promise<AdminArea[] | undefined> {
  const { rows } = await q.query<{ areas: AdminArea[] }>('SELECT areas FROM admin_boundary_versions WHERE id = $1', [id]);
  return rows[0]?.areas;
}

/**
 * Stores a file's areas as a new version over the one in force (its areas with the file's over them)
 * and activates it; counts what it adds and redraws against what was in force.
 */
export async function addVersion(
  db: Db,
  file: { name: string; hash: string; areas: AdminArea[] },
  who: { accountId: string; name: string },
): Promise<BoundaryVersion> {
  const id = await db.transaction(async (tx) => {
    await lock(db, tx);
    const { rows } = await tx.query<{ areas: AdminArea[] }>('SELECT areas FROM admin_boundary_versions WHERE active');
    const inForce = new Map(shippedAreas().map((a) => [a.code, a]));
    const base = new Map((rows[0]?.areas ?? []).map((a) => [a.code, a]));
    for (const [code, a] of base) inForce.set(code, a);
    const added: string[] = [];
    const replaced: string[] = [];
    for (const a of file.areas) {
      (inForce.get(a.code)?.geometry ? replaced : added).push(a.code);
      base.set(a.code, a);
    }
    await tx.query('UPDATE admin_boundary_versions SET active = false WHERE active');
    const ins = await tx.query<{ id: number }>(
      `INSERT INTO admin_boundary_versions (created_by, created_by_name, file_name, file_hash, added, replaced, areas, active, activated_at, activated_by_name)
       VALUES ($1, $2, $3, $4, $5, $6, $7, true, now(), $2) RETURNING id`,
      [who.accountId, who.name, file.name, file.hash, JSON.stringify(added), JSON.stringify(replaced), JSON.stringify([...base.values()])],
    );
    return Number(ins.rows[0]!.id);
  });
  await syncActiveBoundaries(db);
  return (await listVersions(db)).find((v) => v.id === id)!;
}

/**
 * Puts an earlier (or later) version back in force; 0 returns to the shipped data alone.
 * @returns false when there is no such version
 */
export async function activateVersion(db: Db, id: number, who: { name: string }): Promise<boolean> {
  const found = await db.transaction(async (tx) => {
    await lock(db, tx);
    if (id !== 0 && !(await tx.query('SELECT 1 FROM admin_boundary_versions WHERE id = $1', [id])).rows.length) return false;
    await tx.query('UPDATE admin_boundary_versions SET active = false WHERE active');
    if (id !== 0)
      await tx.query('UPDATE admin_boundary_versions SET active = true, activated_at = now(), activated_by_name = $2 WHERE id = $1', [
        id,
        who.name,
      ]);
    return true;
  });
  if (found) await syncActiveBoundaries(db);
  return found;
}

/** A version's areas (for its GeoJSON download), or undefined. */
export const versionAreas = (db: Db, id: number): Promise<AdminArea[] | undefined> => areasOf(db, id);

/**
 * Brings this process's geography to the version the database says is active (one small query when
 * nothing changed).
 */
export async function syncActiveBoundaries(db: Db): Promise<void> {
  const { rows } = await db.query<{ id: number }>('SELECT id FROM admin_boundary_versions WHERE active');
  const id = rows[0] ? Number(rows[0].id) : null;
  if (id === activeBoundaryVersion()) return;
  const areas = id === null ? undefined : await areasOf(db, id);
  setActiveBoundaries(id === null || !areas ? null : { version: id, areas });
}

/** How often an instance checks for a version activated on another instance. @default 10 s */
export const BOUNDARY_SYNC_MS = 10_000;

/**
 * Loads the active version at start and keeps this instance in step with the others (an upload or
 * roll back on one is in force on all within {@link BOUNDARY_SYNC_MS}).
 */
export async function startBoundarySync(db: Db, log: Logger, everyMs = BOUNDARY_SYNC_MS): Promise<{ stop(): void }> {
  await syncActiveBoundaries(db);
  const timer = setInterval(() => {
    syncActiveBoundaries(db).catch((err: unknown) => log.warn({ err }, 'boundary versions: sync failed'));
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
