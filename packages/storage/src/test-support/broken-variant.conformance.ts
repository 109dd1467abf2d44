import { runConformance } from "../conformance/index.js";
import { type Bugs, ReferenceBackend } from "../testing/reference-backend.js";

// Run by conformance-teeth.test.ts in a child vitest: the conformance suite against a
// reference backend with the bug named in RAFTSTORE_BUG. Short timeouts, because the failing
// cases would otherwise wait out the full eventually/next timeouts.
const bug = process.env.RAFTSTORE_BUG as keyof Bugs;

runConformance({
  newBackend: () => new ReferenceBackend({ [bug]: true }),
  supportsStronglyConsistentList: true,
  overwrite: true,
  deleteIncarnation: true,
  eventuallyTimeoutMs: 300,
  nextTimeoutMs: 300,
});
