import { openPostgres } from '@geo/infra';

/**
 * A fresh database on the test PostgreSQL server (tests of several portal instances), so that
 * earlier runs and other files' rows do not count; `drop` removes it.
 */
export async function freshDatabase(url: string, name: string): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = await openPostgres(url);
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.close();
  const u = new URL(url);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const a = await openPostgres(url);
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await a.close();
    },
  };
}
