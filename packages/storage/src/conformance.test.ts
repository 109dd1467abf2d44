import { runConformance } from "./conformance/index.js";
import { ReferenceBackend } from "./testing/reference-backend.js";

// The suite must pass against the simplest correct backend; conformance-teeth.test.ts proves it
// fails against broken ones.
runConformance({
  newBackend: () => new ReferenceBackend(),
  supportsStronglyConsistentList: true,
  overwrite: true,
  deleteIncarnation: true,
  restore: async (backend, resources) => (backend as ReferenceBackend).restore(resources),
});
