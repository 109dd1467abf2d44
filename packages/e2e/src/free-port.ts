import { createServer } from "node:net";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released). Another
 * process may take it in between; harnesses accept that small race, as etcd's and Consul's do.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") {
    throw new Error(`expected a TCP address from the listening socket, found ${String(address)}`);
  }
  return address.port;
}

/** `count` distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}
