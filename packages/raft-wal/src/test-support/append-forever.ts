// Appends to the data directory given as its argument until killed, printing "ack <index>" as
// soon as an append of entries up to <index> is acknowledged (durable). Four appenders run at once
// (their appends share syncs); segments are small so they rotate often; every few hundred entries
// it writes a snapshot and compacts the log behind it.
import { openDataDir } from "../data-dir.js";
import { silentLogger } from "../logger.js";
import { entry } from "./fixtures.js";

const [path] = process.argv.slice(2);
if (path === undefined) throw new Error("usage: append-forever.ts <data dir>");

const dir = await openDataDir(path, { segmentSize: 8 * 1024, logger: silentLogger });
const { compactedIndex, entries } = await dir.log.load();
let next = compactedIndex + entries.length + 1;
let acknowledged = next - 1;
let lastSnapshot = compactedIndex;
process.stdout.write(`ready ${acknowledged}\n`);

async function snapshotAndCompact(): Promise<void> {
  const index = acknowledged;
  lastSnapshot = index;
  const sink = await dir.snapshots.create({
    index,
    term: 1,
    config: { voters: ["n1"], learners: [] },
  });
  await sink.write(new TextEncoder().encode(`state at ${index}`));
  await sink.commit();
  await dir.log.compact(index - 100);
}

async function appender(): Promise<never> {
  for (;;) {
    const count = 1 + (next % 3);
    const batch = Array.from({ length: count }, () => entry(next++, 1, 64));
    await dir.log.append(batch);
    const last = (batch.at(-1) as { index: number }).index;
    acknowledged = Math.max(acknowledged, last);
    process.stdout.write(`ack ${last}\n`);
    if (acknowledged - lastSnapshot >= 300) await snapshotAndCompact();
  }
}

await Promise.all([appender(), appender(), appender(), appender()]);
