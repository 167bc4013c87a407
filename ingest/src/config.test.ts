import { describe, expect, it } from 'vitest';
import { IngestEnv } from './config.ts';

describe('ingest config', () => {
  it('publishes binary LOCATION batches by default and JSON ones with LOCATION_FORMAT=json (the rollback)', () => {
    expect(IngestEnv.parse({}).LOCATION_FORMAT).toBe('binary');
    expect(IngestEnv.parse({ LOCATION_FORMAT: 'json' }).LOCATION_FORMAT).toBe('json');
    expect(IngestEnv.parse({ LOCATION_FORMAT: 'binary' }).LOCATION_FORMAT).toBe('binary');
  });

  it('refuses any other LOCATION_FORMAT, naming the choices', () => {
    const r = IngestEnv.safeParse({ LOCATION_FORMAT: 'JSON ' });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ['LOCATION_FORMAT'], message: 'expected binary or json' });
  });
});
