import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  readUploadedTable,
  UploadError,
  type TableRow,
  type UploadedTable,
  type UploadErrorCode,
  type UploadLimits,
} from './upload-table.ts';

/**
 * Reads an uploaded file on a worker thread, so that parsing a 100,000-row Excel file (seconds of
 * CPU) never stalls the portal's other requests. Rows come back in chunks, the next one only when
 * the main thread asks for it: Node delivers all the messages waiting on a port in one go, so 100
 * chunks posted at once were deserialised as one long task. Where a worker cannot load TypeScript
 * (no tsx), it falls back to reading on the main thread.
 */

/** Files smaller than this are read on the main thread: milliseconds of work, less than starting a worker. */
const INLINE_BYTES = 256 * 1024;
/** Rows per message from the worker (a few milliseconds to deserialise). */
const CHUNK = 2000;

type FromWorker =
  | { t: 'rows'; rows: TableRow[] }
  | { t: 'progress'; n: number }
  | { t: 'done'; format: UploadedTable['format']; encoding?: UploadedTable['encoding'] }
  | { t: 'error'; code?: UploadErrorCode; message: string };
/** From the main thread: send the next chunk of rows. */
const MORE = 'more';

// The worker is plain JavaScript that loads upload-table.ts through tsx's API (the portal runs on tsx).
const BOOT = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  try {
    const api = await import(workerData.tsx);
    const m = await api.tsImport(workerData.module, workerData.module);
    const t = await m.readUploadedTable(workerData.bytes, workerData.limits, (n) => parentPort.postMessage({ t: 'progress', n }));
    let i = 0;
    const next = () => {
      if (i >= t.rows.length) return parentPort.postMessage({ t: 'done', format: t.format, encoding: t.encoding });
      parentPort.postMessage({ t: 'rows', rows: t.rows.slice(i, i + workerData.chunk) });
      i += workerData.chunk;
    };
    parentPort.on('message', (m) => m === '${MORE}' && next());
    next();
  } catch (err) {
    parentPort.postMessage({ t: 'error', code: err && err.name === 'UploadError' ? err.code : undefined, message: String((err && err.message) || err) });
  }
})();
`;

let tsxApi: string | undefined | null;
function tsxApiUrl(): string | undefined {
  if (tsxApi === undefined) {
    try {
      // The ESM build of tsx's API (require.resolve would give the CommonJS one).
      const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
      tsxApi = pathToFileURL(join(dirname(pkg), 'dist/esm/api/index.mjs')).href;
    } catch {
      tsxApi = null;
    }
  }
  return tsxApi ?? undefined;
}

export interface OffThreadOptions extends UploadLimits {
  /** Rows read so far (Excel), for a progress bar while parsing. */
  onProgress?: (rows: number) => void;
  /**
   * Hands `bytes`' memory to the worker instead of copying it (a 7 MB copy was ~100 ms of the main
   * thread): the caller's `bytes` is then empty. Only done when `bytes` spans all of a plain
   * ArrayBuffer (never a slice of Node's shared Buffer pool).
   */
  transfer?: boolean;
}

export async function readUploadOffThread(bytes: Uint8Array, opts: OffThreadOptions = {}): Promise<UploadedTable> {
  const tsx = tsxApiUrl();
  const limits: UploadLimits = { maxBytes: opts.maxBytes, maxRows: opts.maxRows, maxExpandedBytes: opts.maxExpandedBytes };
  if (!tsx || bytes.length < INLINE_BYTES) return readUploadedTable(bytes, limits, opts.onProgress);
  const module = new URL('./upload-table.ts', import.meta.url).href;
  return new Promise<UploadedTable>((resolve, reject) => {
    const rows: TableRow[] = [];
    let settled = false;
    const own =
      opts.transfer && bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const worker = new Worker(BOOT, {
      eval: true,
      workerData: { tsx, module, bytes, limits, chunk: CHUNK },
      transferList: own ? [bytes.buffer as ArrayBuffer] : [],
    });
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.on('message', (m: FromWorker) => {
      if (m.t === 'rows') {
        for (const r of m.rows) rows.push(r);
        opts.onProgress?.(rows.length);
        // Other work (requests) gets its turn before the next chunk arrives.
        setImmediate(() => settled || worker.postMessage(MORE));
      } else if (m.t === 'progress') opts.onProgress?.(m.n);
      else if (m.t === 'done') finish(() => resolve({ format: m.format, ...(m.encoding ? { encoding: m.encoding } : {}), rows }));
      else finish(() => reject(m.code ? new UploadError(m.code, m.message) : new Error(`reading the upload failed: ${m.message}`)));
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`the upload reader stopped (exit ${code})`))));
  });
}
