import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

/**
 * Counts the bad-input cases per entry point. Each test file keeps a tally and, when it is done,
 * writes its part to `$ARTIFACTS_DIR/bad-input/<file>.json` (or the temp dir) and rewrites the merged
 * `bad-input-report.json` from every part present, so the last file to finish leaves the totals.
 */
export class CaseTally {
  private readonly counts = new Map<string, number>();
  private readonly failing: { entry: string; name: string; bug: string }[] = [];

  constructor(readonly file: string) {}

  /** Registers the cases of a table (call at collection time, before `it.each`). */
  add<T>(entry: string, cases: readonly T[]): readonly T[] {
    this.counts.set(entry, (this.counts.get(entry) ?? 0) + cases.length);
    return cases;
  }

  /** Registers one case and returns its name (for a single `it`). */
  one(entry: string, name: string): string {
    this.counts.set(entry, (this.counts.get(entry) ?? 0) + 1);
    return name;
  }

  /** A case written with `it.fails` because it exposes a bug elsewhere (counted with its entry). */
  bug(entry: string, name: string, bug: string): string {
    this.counts.set(entry, (this.counts.get(entry) ?? 0) + 1);
    this.failing.push({ entry, name, bug });
    return name;
  }

  /** Writes this file's part and the merged report; prints the counts. Returns the report path. */
  write(): string {
    const dir = process.env.ARTIFACTS_DIR || join(tmpdir(), 'geo-alert-artifacts');
    const parts = join(dir, 'bad-input');
    mkdirSync(parts, { recursive: true });
    const mine = { file: this.file, entries: Object.fromEntries(this.counts), knownBugs: this.failing };
    writeFileSync(join(parts, `${this.file}.json`), JSON.stringify(mine, null, 2));
    const all = readdirSync(parts)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(parts, f), 'utf8')) as typeof mine);
    const entries: Record<string, number> = {};
    for (const p of all) for (const [k, v] of Object.entries(p.entries)) entries[k] = (entries[k] ?? 0) + v;
    const total = Object.values(entries).reduce((a, b) => a + b, 0);
    const report = {
      generatedAt: new Date().toISOString(),
      total,
      entries,
      knownBugs: all.flatMap((p) => p.knownBugs),
      files: all.map((p) => p.file),
    };
    const path = join(dir, 'bad-input-report.json');
    writeFileSync(path, JSON.stringify(report, null, 2));
    const n = [...this.counts.values()].reduce((a, b) => a + b, 0);
    console.log(
      `[bad-input] ${this.file}: ${n} cases ${JSON.stringify(Object.fromEntries(this.counts))}; all files so far: ${total} → ${path}`,
    );
    return path;
  }
}
