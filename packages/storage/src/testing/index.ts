// Test helpers for code built on the storage contract: the simplest correct Backend, for tests
// that need one without depending on a real engine.
export { type Bugs, ReferenceBackend } from "./reference-backend.js";
