import { type RaftstoreCluster, startRaftstoreCluster } from "../raftstore-cluster.js";
import { sleep } from "../wait.js";
import { createFaultRun, type FaultRun } from "./fault-run.js";
import { RegisterWorkload, type RegisterWorkloadOptions } from "./register-workload.js";

/** A fault run's three-process cluster with the default timeouts, under a client load. */
export interface LoadedCluster {
  run: FaultRun;
  cluster: RaftstoreCluster;
  workload: RegisterWorkload;
}

/**
 * Starts run `name`: its cluster, then the workload's clients, once every key (and `extraKeys`)
 * is written and `settleMs` more have passed. A failure marks the run failed, so that its
 * directory is kept for investigation.
 */
export async function startLoadedCluster(
  name: string,
  workload: Omit<RegisterWorkloadOptions, "cluster" | "seed">,
  options: { extraKeys?: readonly string[]; settleMs?: number } = {},
): Promise<LoadedCluster> {
  const run = createFaultRun(name);
  try {
    const cluster = await startRaftstoreCluster({ dir: run.dir });
    const loaded = {
      run,
      cluster,
      workload: new RegisterWorkload({ ...workload, cluster, seed: run.seed }),
    };
    await cluster.leader();
    await loaded.workload.populate(options.extraKeys);
    loaded.workload.start();
    await sleep(options.settleMs ?? 0);
    return loaded;
  } catch (error) {
    run.fail("starting the cluster and its load");
    throw error;
  }
}

/** Stops the load and the cluster (keeping its directory), and removes the run if it passed. */
export async function stopLoadedCluster(loaded: LoadedCluster | undefined): Promise<void> {
  await loaded?.workload.stop();
  loaded?.workload.close();
  await loaded?.cluster.close({ keepDir: true });
  loaded?.run.cleanUp();
}
