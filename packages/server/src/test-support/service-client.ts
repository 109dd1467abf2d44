import { createClient, createRouterTransport } from "@connectrpc/connect";
import { ResourceService } from "@raftstore/proto";
import type { Backend } from "@raftstore/storage";
import {
  createResourceServiceRoutes,
  type ResourceServiceOptions,
} from "../resource-service/resource-service.js";

/** A ResourceService client wired to a backend in memory, with no network. */
export function serviceClient(backend: Backend, options: Partial<ResourceServiceOptions> = {}) {
  const transport = createRouterTransport(
    createResourceServiceRoutes({
      backend,
      retryPolicy: { attempts: 5, baseDelayMs: 1, maxDelayMs: 4 },
      ...options,
    }),
  );
  return createClient(ResourceService, transport);
}
