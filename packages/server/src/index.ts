// One raftstore node: the engine, its durable stores and transport, the Raft-backed storage
// Backend, and the public API, on one port.

export {
  ConfigError,
  type ConfigSources,
  defaultQuotaBytes,
  defaultRaftSettings,
  isConfigError,
  loadConfig,
  type NodeConfig,
  type RaftSettings,
  settingNames,
  unknownSettingVariables,
} from "./config.js";
export { isNodeStartError, NodeStartError } from "./errors.js";
export { createLogger, type NodeLogger } from "./logger.js";
export { type RaftstoreNode, type StartNodeOptions, startNode } from "./node.js";
export {
  createPortServer,
  type PortServer,
  type PortServerOptions,
  sniffProtocol,
} from "./port-server.js";
export { toConnectError } from "./resource-service/errors.js";
// Building blocks, for embedding the API in another server.
export {
  createResourceServiceRoutes,
  DEFAULT_MAX_RESOURCE_BYTES,
  type ResourceServiceOptions,
} from "./resource-service/resource-service.js";
