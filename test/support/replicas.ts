// A primary with a streaming replica of the tests' own (the machine's PostgreSQL allows no
// replication connections). Under CI it must start (tests fail rather than skip); elsewhere tests
// that need it skip with a message when it cannot (no PostgreSQL binaries, no postgres user).
import { type ReplicaCluster, startReplicaCluster } from '@commerce/harness/replica-cluster';

export async function replicaClusterOrSkip(applyDelayMs = 300): Promise<ReplicaCluster | null> {
  try {
    return await startReplicaCluster({ applyDelayMs });
  } catch (error) {
    if (process.env.CI) throw new Error(`a PostgreSQL primary with a streaming replica is required in CI but could not be started: ${(error as Error).message}`);
    console.warn(`SKIPPING replica tests: could not start a primary with a streaming replica (${(error as Error).message})`);
    return null;
  }
}
