-- Issue 21: administrative boundaries loaded by the platform operator from a GeoJSON file keyed by
-- GB/T 2260 code. Each upload is a version holding the whole set of areas in force over the shipped
-- data (the previous active version's areas with the file's over them), so activating any version
-- (a roll back) restores exactly what was seen then. At most one version is active; none = the
-- shipped data alone (ingest/data/admin-<province>.geo.json).
CREATE TABLE IF NOT EXISTS admin_boundary_versions (
  id serial PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text REFERENCES accounts(id) ON DELETE SET NULL,
  created_by_name text NOT NULL DEFAULT '',
  file_name text NOT NULL DEFAULT '',
  -- sha256 of the uploaded file's bytes, hex.
  file_hash text NOT NULL,
  -- The codes the file gave a boundary they had none of (or that did not exist), and those it redrew.
  added jsonb NOT NULL DEFAULT '[]',
  replaced jsonb NOT NULL DEFAULT '[]',
  -- [{ code, name, level, parent, center, geometry }]: every area this version sets over the shipped data.
  areas jsonb NOT NULL,
  active boolean NOT NULL DEFAULT false,
  activated_at timestamptz,
  activated_by_name text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS admin_boundary_versions_one_active ON admin_boundary_versions (active) WHERE active;
