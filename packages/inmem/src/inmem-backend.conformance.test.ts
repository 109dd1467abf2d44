import { runConformance } from "@raftstore/storage/conformance";
import { InmemBackend } from "./inmem-backend.js";

runConformance({
  newBackend: (context) => {
    const backend = new InmemBackend();
    context.onCleanup(() => backend.close());
    return backend;
  },
  supportsStronglyConsistentList: true,
  overwrite: true,
  deleteIncarnation: true,
  restore: async (backend, resources) => {
    const restoration = (backend as InmemBackend).restore();
    try {
      for (const resource of resources) restoration.apply(resource);
      restoration.commit();
    } finally {
      restoration.abort();
    }
  },
});
