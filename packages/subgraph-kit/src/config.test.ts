import { describe, expect, it } from 'vitest';
import { subgraphConfig } from './config.js';
import { ConfigError } from '@commerce/platform/env';

describe('subgraphConfig', () => {
  it('defaults to embedded PGlite under .data/<name>, migrated and seeded', () => {
    const config = subgraphConfig('orders', {}, '/srv/app');
    expect(config).toMatchObject({ port: 4003, host: '0.0.0.0', nodeEnv: 'development', migrateOnStart: true, seedOnStart: true });
    expect(config.database).toEqual({ kind: 'pglite', dataDir: '/srv/app/.data/orders' });
  });

  it('puts each subgraph in its own schema of DATABASE_URL, and honours a per-subgraph URL', () => {
    const shared = subgraphConfig('products', { DATABASE_URL: 'postgresql://u@db:5432/shop' });
    expect(shared.database).toEqual({ kind: 'postgres', url: 'postgresql://u@db:5432/shop', schema: 'products' });
    expect(shared.seedOnStart).toBe(false);
    const own = subgraphConfig('users', { DATABASE_URL: 'postgresql://u@db/shop', USERS_DATABASE_URL: 'postgres://u@other/users_db?schema=accounts' });
    expect(own.database).toEqual({ kind: 'postgres', url: 'postgres://u@other/users_db', schema: 'accounts' });
  });

  it('takes read replicas as comma-separated URLs, per subgraph or shared, in the primary\'s schema; none by default', () => {
    expect(subgraphConfig('products', { DATABASE_URL: 'postgresql://u@db/shop' }).database).not.toHaveProperty('replicas');
    const shared = subgraphConfig('products', { DATABASE_URL: 'postgresql://u@db/shop', DATABASE_REPLICA_URL: 'postgresql://u@r1/shop, postgresql://u@r2/shop' });
    expect(shared.database).toEqual({ kind: 'postgres', url: 'postgresql://u@db/shop', schema: 'products', replicas: ['postgresql://u@r1/shop', 'postgresql://u@r2/shop'] });
    expect(shared.replicaMaxLagMs).toBe(5000);
    const own = subgraphConfig('orders', { DATABASE_URL: 'postgresql://u@db/shop', DATABASE_REPLICA_URL: 'postgresql://u@r1/shop', ORDERS_DATABASE_REPLICA_URL: 'postgresql://u@r9/shop?schema=ignored', REPLICA_MAX_LAG_MS: '800' });
    expect(own.database).toMatchObject({ schema: 'orders', replicas: ['postgresql://u@r9/shop'] });
    expect(own.replicaMaxLagMs).toBe(800);
    // The embedded database has no replicas; a bad URL is named.
    expect(() => subgraphConfig('users', { DATABASE_REPLICA_URL: 'postgresql://u@r1/shop' })).toThrow(/DATABASE_REPLICA_URL: needs USERS_DATABASE_URL or DATABASE_URL/);
    expect(() => subgraphConfig('users', { DATABASE_URL: 'postgresql://u@db/shop', USERS_DATABASE_REPLICA_URL: 'postgresql://u@r1/shop,mysql://x' })).toThrow(/USERS_DATABASE_REPLICA_URL/);
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      subgraphConfig('users', { PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', MIGRATE_ON_START: 'maybe' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'MIGRATE_ON_START']) expect(problems).toContain(name);
  });
});

describe('shutdown settings', () => {
  it('wait one readiness interval (2 s) before draining in production, none elsewhere; 10 s to exit', () => {
    expect(subgraphConfig('users', {}).shutdown).toEqual({ timeoutMs: 10_000, readyDelayMs: 0 });
    expect(subgraphConfig('users', { NODE_ENV: 'production', IDENTITY_PUBLIC_KEY: 'k' }).shutdown).toEqual({ timeoutMs: 10_000, readyDelayMs: 2000 });
    expect(subgraphConfig('users', { SHUTDOWN_TIMEOUT_MS: '3000', SHUTDOWN_READY_DELAY_MS: '500' }).shutdown).toEqual({ timeoutMs: 3000, readyDelayMs: 500 });
  });

  it('refuse a timeout that leaves no room to drain after the ready delay', () => {
    expect(() => subgraphConfig('users', { NODE_ENV: 'production', IDENTITY_PUBLIC_KEY: 'k', SHUTDOWN_TIMEOUT_MS: '2000' })).toThrow(/SHUTDOWN_TIMEOUT_MS: must be larger than SHUTDOWN_READY_DELAY_MS/);
    expect(() => subgraphConfig('users', { SHUTDOWN_TIMEOUT_MS: '1000', SHUTDOWN_READY_DELAY_MS: '1500' })).toThrow(/SHUTDOWN_TIMEOUT_MS/);
    expect(() => subgraphConfig('users', { SHUTDOWN_TIMEOUT_MS: 'soon' })).toThrow(/SHUTDOWN_TIMEOUT_MS/);
    expect(() => subgraphConfig('users', { LOG_BUFFER_BYTES: '10' })).toThrow(/LOG_BUFFER_BYTES/);
  });
});
