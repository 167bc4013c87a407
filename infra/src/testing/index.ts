/**
 * `@geo/infra/testing`: what tests, chaos drills and benchmarks use and production code must not —
 * real servers started on free ports (nats-server alone or as a cluster, clickhouse-server alone or
 * as shards), a TCP proxy that injects faults, the one wait helper, and the launcher of a
 * TypeScript entry point as its own process (startTsxProcess / untilReady), and a service started
 * from its entry point that is ready when its healthz answer says so (startService); Debian's Kannel
 * as the independent SMPP client and the benchmarks' peer gateway (startKannel); a service's
 * /metrics read by name and labels (readMetrics).
 */
export * from './until.ts';
export * from './tsx-process.ts';
export * from './service.ts';
export * from './kannel.ts';
export * from './metrics.ts';
export * from './tcp-proxy.ts';
export * from '../servers/free-port.ts';
export * from '../servers/pick-port.ts';
export * from '../servers/stack.ts';
export * from '../servers/nats.ts';
export * from '../servers/nats-cluster.ts';
export * from '../servers/nats-release.ts';
export * from '../servers/clickhouse.ts';
