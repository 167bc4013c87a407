export * from './schema/migrations.ts';
