// npm run bench:profile -w @raftstore/e2e -- DIR
//
// Summarizes the V8 CPU profiles (*.cpuprofile) that RAFTSTORE_BENCH_CPU_PROFILE_DIR=DIR made a
// benchmark write for every node: where each node spent its CPU time, by component (a
// @raftstore package, connect, protobuf, Node internals, GC) and by function (self time).
// Prints one JSON document.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The component a function belongs to, from its script's URL. */
function componentOf(url: string, functionName: string): string {
  if (url === "") {
    return functionName === "(idle)" ||
      functionName === "(garbage collector)" ||
      functionName === "(program)"
      ? functionName
      : "(native)";
  }
  const workspace = /\/packages\/([a-z0-9-]+)\//.exec(url);
  if (workspace !== null) return `@raftstore/${workspace[1]}`;
  const dependency = /\/node_modules\/((@[^/]+\/)?[^/]+)\//.exec(url);
  if (dependency !== null) return dependency[1] as string;
  if (url.startsWith("node:")) return "node";
  return url;
}

function summarize(profile: CpuProfile, top: number) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  // Inclusive: the time of samples with the component anywhere on the stack. Async code has
  // short stacks (each continuation starts from the event loop), so this undercounts callers.
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const onStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = (byId.get(at) as ProfileNode).callFrame;
      if (frame.functionName !== "(root)") onStack.add(componentOf(frame.url, frame.functionName));
    }
    for (const component of onStack) inclusive.set(component, (inclusive.get(component) ?? 0) + us);
  }
  let totalUs = 0;
  const components = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    totalUs += us;
    const component = componentOf(frame.url, frame.functionName);
    components.set(component, (components.get(component) ?? 0) + us);
    const where =
      frame.url === ""
        ? ""
        : ` ${frame.url.replace(/^.*\/(packages|node_modules)\//, "")}:${frame.lineNumber + 1}`;
    const name = `${frame.functionName || "(anonymous)"}${where}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const busyUs = totalUs - (components.get("(idle)") ?? 0);
  const share = (us: number) => Math.round((us / busyUs) * 1000) / 10;
  const ranked = (m: Map<string, number>, n: number) =>
    [...m]
      .filter(([name]) => name !== "(idle)" && !name.startsWith("(idle)"))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), percentOfBusy: share(us) }));
  return {
    totalMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    components: ranked(components, 20),
    componentsInclusive: ranked(inclusive, 20),
    functions: ranked(functions, top),
  };
}

const dir = process.argv[2];
if (dir === undefined) {
  process.stderr.write("usage: npm run bench:profile -w @raftstore/e2e -- DIR\n");
  process.exit(2);
}
const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
if (files.length === 0) {
  process.stderr.write(`expected *.cpuprofile files in ${dir}, found none\n`);
  process.exit(1);
}
const profiles = Object.fromEntries(
  files.map((file) => [
    file,
    summarize(JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile, 25),
  ]),
);
process.stdout.write(`${JSON.stringify(profiles, null, 2)}\n`);
