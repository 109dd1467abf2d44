// Real multi-process clusters for fault tests and benchmarks (in progress).
export {};
