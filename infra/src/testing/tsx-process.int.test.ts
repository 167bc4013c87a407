import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startTsxProcess, untilReady, type TsxProcess } from './tsx-process.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

describe('startTsxProcess / untilReady', () => {
  let p: TsxProcess | undefined;
  afterEach(async () => {
    await p?.stop(1000);
    p = undefined;
  });

  it('hands each stdout line to onLine and is ready once the awaited line came', async () => {
    const lines: string[] = [];
    p = startTsxProcess('fixture', 'tsx-process.fixture.ts', { cwd: here, env: { FIXTURE_MODE: 'ok' }, onLine: (l) => lines.push(l) });
    await untilReady(p, 'READY printed', () => lines.includes('READY ok'), 60_000, 20);
    expect(lines).toEqual(['starting', 'READY ok']);
    expect(p.alive()).toBe(true);
    await p.stop(1000);
    expect(p.alive()).toBe(false);
  });

  it('fails at once with the output when the process exits before it is ready', async () => {
    p = startTsxProcess('fixture', 'tsx-process.fixture.ts', { cwd: here, env: { FIXTURE_MODE: 'crash' } });
    const err = await untilReady(p, 'READY printed', () => false, 120_000, 20).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^fixture exited before READY printed; its output:\nfixture: cannot start/);
  });

  it('stops the process and fails naming what it waited for, with the output, after the timeout', async () => {
    p = startTsxProcess('fixture', 'tsx-process.fixture.ts', { cwd: here, env: { FIXTURE_MODE: 'ok' } });
    const err = await untilReady(p, 'a line that never comes', () => false, 50, 10).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^timed out after 50 ms waiting for fixture: a line that never comes; its output:/);
    expect(p.alive()).toBe(false);
  });
});
