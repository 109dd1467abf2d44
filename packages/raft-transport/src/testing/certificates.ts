import { generate } from "selfsigned";
import { nodeIdentityUri, type TransportTlsOptions } from "../tls.js";

// Test certificates: a CA per "cluster", and node certificates it signs, naming their node id
// as a raftstore://node/<id> URI SAN (and as CN). EC P-256 keys, so generating them is quick.

export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

/** A self-signed CA that can sign node certificates. */
export async function createCertificateAuthority(name = "raftstore test CA"): Promise<KeyPair> {
  const pems = await generate([{ name: "commonName", value: name }], {
    keyType: "ec",
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      {
        name: "keyUsage",
        keyCertSign: true,
        cRLSign: true,
        digitalSignature: true,
        critical: true,
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** Options of `createNodeCertificate`. */
export interface NodeCertificateOptions {
  /** Name the node in a URI SAN (default true); without, only the CN names it. */
  readonly uri?: boolean;
}

/** A certificate for node `id`, signed by `ca`, good for both TLS server and client. */
export async function createNodeCertificate(
  ca: KeyPair,
  id: string,
  options: NodeCertificateOptions = {},
): Promise<KeyPair> {
  const altNames: { type: 6 | 7; value?: string; ip?: string }[] = [{ type: 7, ip: "127.0.0.1" }];
  if (options.uri ?? true) altNames.unshift({ type: 6, value: nodeIdentityUri(id) });
  const pems = await generate([{ name: "commonName", value: id }], {
    keyType: "ec",
    algorithm: "sha256",
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyAgreement: true },
      { name: "extKeyUsage", serverAuth: true, clientAuth: true },
      { name: "subjectAltName", altNames },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A CA and the TLS options of every node of a cluster. */
export interface ClusterCertificates {
  readonly ca: KeyPair;
  readonly nodes: Readonly<Record<string, TransportTlsOptions>>;
}

/** Creates a CA and one certificate per node id. */
export async function createClusterCertificates(
  ids: readonly string[],
): Promise<ClusterCertificates> {
  const ca = await createCertificateAuthority();
  const nodes: Record<string, TransportTlsOptions> = {};
  for (const id of ids) {
    const pair = await createNodeCertificate(ca, id);
    nodes[id] = { ca: ca.cert, cert: pair.cert, key: pair.key };
  }
  return { ca, nodes };
}
