export * from './config/env.ts';
export * from './runtime/logger.ts';
export * from './runtime/service-http.ts';
export * from './runtime/request-body.ts';
export * from './runtime/run-service.ts';
export * from './clickhouse/sql.ts';
export * from './clickhouse/client.ts';
export * from './clickhouse/migrate.ts';
export * from './postgres/db.ts';
export * from './postgres/migrate.ts';
export * from './nats/connect.ts';
export * from './nats/streams.ts';
export * from './nats/dead-letter.ts';
export * from './nats/topology.ts';
export * from './nats/consume.ts';
// Deliveries lost in transit by a durable consumer, read back from the stream.
export * from './nats/gap-fill.ts';
// Shard ownership with fencing tokens (invariant 10).
export * from './nats/leases.ts';
export * from './runtime/main.ts';
export * from './runtime/nats-health.ts';
export * from './basics/index.ts';
export * from './nats/consume-loop.ts';
// One supervisor keeps every consume iterator open: reopen with back-off, stall watchdog (#19, #20).
export * from './nats/supervised-consume.ts';
// Test tools (servers on free ports, the fault proxy, until()) are in `@geo/infra/testing`.
