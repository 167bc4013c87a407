import type { Logger } from 'pino';

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Runs a service until SIGINT/SIGTERM, then stops it gracefully (drain NATS, flush batches) and
 * sets `process.exitCode`. A second signal, or a stop that takes longer than `graceMs`, exits at once.
 */
export async function runService(log: Logger, start: () => Promise<Stoppable>, graceMs = 20_000): Promise<void> {
  let service: Stoppable;
  try {
    service = await start();
  } catch (err) {
    log.fatal({ err }, (err as Error).message);
    process.exitCode = 1;
    // Give pino a tick to flush, then leave: a failed start must not hang on open handles.
    setTimeout(() => process.exit(1), 100).unref();
    return;
  }
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    log.info({ signal }, 'stopping');
    const timer = setTimeout(() => {
      log.error('graceful stop timed out; exiting');
      process.exit(1);
    }, graceMs);
    timer.unref();
    service
      .stop()
      .then(() => {
        log.info('stopped');
        process.exitCode = 0;
      })
      .catch((err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exitCode = 1;
      })
      .finally(() => {
        clearTimeout(timer);
        setTimeout(() => process.exit(), 50).unref();
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Under `npm start`'s supervisor: stop when the supervisor is gone (its parent pid changes).
  if (process.env.GEO_SUPERVISED === '1') {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) onSignal('SIGTERM');
    }, 1000).unref();
  }
}
