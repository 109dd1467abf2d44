export type { BackendContext, ConformanceOptions } from "./options.js";
export { runConformance } from "./suite.js";
