import { generate } from "selfsigned";

// Test certificates: a CA, and certificates it signs for 127.0.0.1, good as TLS server and
// client certificates. EC P-256 keys, so generating them is quick. A node's certificate also
// names the node as a raftstore://node/<id> URI SAN, as its peers expect.

export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

export async function createCertificateAuthority(): Promise<KeyPair> {
  const pems = await generate([{ name: "commonName", value: "raftstore cli test CA" }], {
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

/** A certificate for `name` (a node id, or a client's name), signed by `ca`. */
export async function createCertificate(ca: KeyPair, name: string): Promise<KeyPair> {
  const pems = await generate([{ name: "commonName", value: name }], {
    keyType: "ec",
    algorithm: "sha256",
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyAgreement: true },
      { name: "extKeyUsage", serverAuth: true, clientAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 6, value: `raftstore://node/${encodeURIComponent(name)}` },
          { type: 7, ip: "127.0.0.1" },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
