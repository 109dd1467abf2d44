import { isPortFree } from "../dev-preflight.js";

/** A free TCP port on 127.0.0.1 (bound and released; tests accept the tiny race). */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The first of `count` consecutive free ports on 127.0.0.1, for `raftstore dev --base-port`. */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let free = true;
    for (let port = base; port < base + count && free; port++) {
      free = await isPortFree("127.0.0.1", port);
    }
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}
