import { setImmediate as yieldToIo } from 'node:timers/promises';
import type { IngestMetrics } from '../metrics.ts';
import type { BatchPublisher } from '../publish/batch-publisher.ts';
import type { Simulator } from './simulator.ts';

export interface RunOptions {
  /** Simulated seconds per real second; 0 runs as fast as the publisher takes events. @default 1 */
  speed?: number;
  /** Stop at this simulated time (epoch ms); runs until `stop()` when omitted. */
  untilMs?: number;
  /** Partial batches are sent at least this often (real ms). @default 500 */
  flushEveryMs?: number;
  metrics?: IngestMetrics;
}

export interface SimulatorProgress {
  simTime: number;
  speed: number;
  eventsTotal: number;
  eventsPerSecond: number;
  subscribers: number;
  running: boolean;
}

/**
 * Drives a simulator's clock in real time (times a speed factor) and hands its events to a batch
 * publisher, waiting when too many publishes are unacknowledged, so a slow JetStream slows the
 * simulated clock instead of filling memory.
 */
export class SimulatorRunner {
  private stopped = false;
  private rate = 0;
  readonly done: Promise<void>;

  constructor(
    readonly sim: Simulator,
    private readonly publisher: BatchPublisher,
    private readonly opts: RunOptions = {},
  ) {
    this.done = this.loop();
  }

  get progress(): SimulatorProgress {
    return {
      simTime: this.sim.nowMs,
      speed: this.opts.speed ?? 1,
      eventsTotal: this.sim.eventsTotal,
      eventsPerSecond: Math.round(this.rate),
      subscribers: this.sim.pop.size,
      running: !this.stopped,
    };
  }

  private async loop(): Promise<void> {
    const speed = this.opts.speed ?? 1;
    const flushEvery = this.opts.flushEveryMs ?? 500;
    const until = this.opts.untilMs !== undefined ? Math.floor(this.opts.untilMs / 1000) : Infinity;
    const realStart = performance.now();
    const simStart = this.sim.nowSec;
    let lastFlush = realStart;
    let lastRate = realStart;
    let lastTotal = this.sim.eventsTotal;
    let lastYield = realStart;
    let counted = this.sim.eventsTotal;
    const m = this.opts.metrics;
    m?.simSubscribers.set(this.sim.pop.size);
    while (!this.stopped && this.sim.nowSec < until) {
      const now = performance.now();
      const target = Math.min(until, speed > 0 ? simStart + Math.floor(((now - realStart) / 1000) * speed) : this.sim.nowSec + 1);
      if (this.sim.nowSec < target) {
        this.sim.advanceTo(this.sim.nowSec + 1, this.publisher);
        if (this.publisher.pending >= 16) await this.publisher.ready();
      }
      if (now - lastFlush >= flushEvery) {
        this.publisher.sendPartial();
        lastFlush = now;
      }
      if (now - lastRate >= 1000) {
        this.rate = ((this.sim.eventsTotal - lastTotal) * 1000) / (now - lastRate);
        lastRate = now;
        lastTotal = this.sim.eventsTotal;
        m?.simEvents.inc(this.sim.eventsTotal - counted);
        counted = this.sim.eventsTotal;
        m?.simTime.set(this.sim.nowSec);
      }
      if (speed > 0 && this.sim.nowSec >= target) {
        await new Promise((r) => setTimeout(r, Math.min(100, 1000 / Math.max(speed, 1))));
        lastYield = performance.now();
      } else if (now - lastYield > 20) {
        await yieldToIo();
        lastYield = performance.now();
      }
    }
    m?.simEvents.inc(this.sim.eventsTotal - counted);
    await this.publisher.flush();
    this.stopped = true;
  }

  /** Stops the clock and waits until every produced event is acknowledged. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}
