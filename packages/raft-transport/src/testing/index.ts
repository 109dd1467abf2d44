// Test helpers for code that runs nodes over TLS: a CA and node certificates naming their ids.
export {
  type ClusterCertificates,
  createCertificateAuthority,
  createClusterCertificates,
  createNodeCertificate,
  type KeyPair,
  type NodeCertificateOptions,
} from "./certificates.js";
