/** The raw driver underneath Prisma: enough to run migration scripts and bulk seed statements. */
export interface SqlRunner {
  /** Runs a script of one or more statements without parameters. */
  exec(script: string): Promise<void>;
  /** Runs one parameterized statement and returns its rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export type SubgraphName = 'users' | 'products' | 'orders';
export const SUBGRAPHS: readonly SubgraphName[] = ['users', 'products', 'orders'];
