// Run by `npm test` before vitest: installs, the way `npm start` does, the system packages the
// tests need, or stops at once saying what to install — never a run that fails halfway because a
// browser or a server is missing.
import { ensurePackages, MissingBinaryError, type SystemNeed } from '../servers/ensure-binary.ts';
import { ensureNewerNats } from '../servers/nats-release.ts';

/** What the test suites need from the system (the servers, the browser for the UI suites, a CJK font for their screenshots). */
export const TEST_NEEDS: SystemNeed[] = [
  { apt: 'nats-server', bin: 'nats-server', why: 'the JetStream server of every integration test' },
  { apt: 'clickhouse-server', bin: 'clickhouse-server', why: 'history and the send log' },
  { apt: 'chromium', path: '/usr/bin/chromium', why: 'the browser suites' },
  { apt: 'fonts-wqy-microhei', path: '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc', why: 'Chinese text in the browser screenshots' },
  { apt: 'tilemaker', bin: 'tilemaker', why: "the offline map's import of an OpenStreetMap extract into vector tiles" },
  { apt: 'kannel', path: '/usr/sbin/bearerbox', why: 'the independent SMPP client (Kannel) bound to our simulated SMSC' },
  {
    apt: 'libnet-smpp-perl',
    path: '/usr/share/perl5/Net/SMPP.pm',
    why: "the independent SMSC (Perl's Net::SMPP) our SMPP client is tested against",
  },
  { apt: 'postgresql', bin: 'pg_ctlcluster', why: 'a PostgreSQL server for the PostGIS geometry peer' },
  {
    apt: 'postgresql-postgis',
    path: '/usr/share/doc/postgresql-postgis',
    why: "PostGIS (GEOS), the independent judge of the geofence's point-in-region decisions",
  },
  { apt: 'osmium-tool', bin: 'osmium', why: 'the map import test writes its own small extract as .osm.pbf' },
];

try {
  ensurePackages(TEST_NEEDS);
} catch (err) {
  if (!(err instanceof MissingBinaryError)) throw err;
  console.error(`npm test cannot run: ${err.message}`);
  process.exit(1);
}
// The tests run on nats-server ≥ 2.10 when it can be had (Debian trixie's, verified, unpacked into
// .data/bin), as `npm start` does; without it they run on the system's 2.9.10.
await ensureNewerNats();
