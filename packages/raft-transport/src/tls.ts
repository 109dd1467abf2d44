import type * as http from "node:http";
import type * as http2 from "node:http2";
import { isIP } from "node:net";
import * as tls from "node:tls";
import { type ContextValues, createContextKey, createContextValues } from "@connectrpc/connect";
import type { NodeId } from "@raftstore/raft";
import { InvalidTransportOptionsError, PeerIdentityError } from "./errors.js";

// Mutual TLS between nodes. Every node holds a certificate signed by the cluster's CA, naming
// its node id (a URI SAN raftstore://node/<id>, see `nodeIdentityUri`). Both ends present their
// certificate and refuse one the CA did not sign at the handshake; on top of that (by default)
// a client checks that the server it dialled is the node it meant, and a server checks that
// every message on a stream comes from the node the client certificate names, so a node can
// speak only for itself even though all certificates come from one CA.

/** TLS settings of a node: its certificate and key, and the CA that signs the cluster's. */
export interface TransportTlsOptions {
  /** PEM of the CA (or CAs) whose certificates are trusted; the system's CAs are not. */
  readonly ca: string | Buffer | readonly (string | Buffer)[];
  /** PEM of this node's certificate (with intermediates, if any). */
  readonly cert: string | Buffer;
  /** PEM of this node's private key. */
  readonly key: string | Buffer;
  /**
   * Check that a peer's certificate names the node it speaks for: the server a client dials
   * must be the peer it dialled (instead of the usual hostname check, since addresses change
   * with membership while ids do not), and messages on an incoming stream must come from the
   * node the client certificate names. Default true.
   */
  readonly verifyPeerIdentity?: boolean;
}

const identityScheme = "raftstore://node/";

/** The URI SAN that names node `id` in its certificate: `raftstore://node/<id, URI-encoded>`. */
export function nodeIdentityUri(id: NodeId): string {
  return identityScheme + encodeURIComponent(id);
}

/** Splits Node's `subjectaltname` string ("DNS:a, URI:b", values JSON-quoted when odd) in parts. */
function subjectAltNames(text: string): { kind: string; value: string }[] {
  const names: { kind: string; value: string }[] = [];
  const pattern = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (const match of text.matchAll(pattern)) {
    const [, kind = "", raw = ""] = match;
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        continue; // not a name we could have issued
      }
    }
    names.push({ kind, value });
  }
  return names;
}

/**
 * The node ids a certificate names: those of its `raftstore://node/<id>` URI SANs or, when it
 * has none, its subject's common name. Empty for no certificate.
 */
export function nodeIdsOfCertificate(cert: tls.PeerCertificate | undefined): NodeId[] {
  if (cert === undefined || cert === null || Object.keys(cert).length === 0) return [];
  const ids: NodeId[] = [];
  for (const { kind, value } of subjectAltNames(cert.subjectaltname ?? "")) {
    if (kind !== "URI" || !value.startsWith(identityScheme)) continue;
    try {
      const id = decodeURIComponent(value.slice(identityScheme.length));
      if (id.length > 0) ids.push(id);
    } catch {
      // a malformed escape names no node
    }
  }
  if (ids.length > 0) return ids;
  const cn = (cert.subject as tls.Certificate | undefined)?.CN as string | string[] | undefined;
  return (Array.isArray(cn) ? cn : cn === undefined ? [] : [cn]).filter((id) => id.length > 0);
}

/** Throws InvalidTransportOptionsError unless the CA, certificate and key are all given. */
export function checkTls(options: TransportTlsOptions): void {
  for (const name of ["ca", "cert", "key"] as const) {
    const value = options[name];
    const empty = Array.isArray(value) ? value.length === 0 : !value || value.length === 0;
    if (empty) {
      throw new InvalidTransportOptionsError(`expected tls.${name} (PEM), found none`);
    }
  }
}

/** Options of `serverTlsOptions`. */
export interface ServerTlsOptions {
  /**
   * Refuse clients without a certificate the CA signed at the handshake. Default true. Set it
   * to false only when the same port also serves clients without certificates (the public
   * API): the raft routes then still refuse every stream without an authorized certificate.
   */
  readonly requireClientCertificate?: boolean;
}

/**
 * Options for `http2.createSecureServer` that serve the raft routes over mutual TLS: the node's
 * certificate, the cluster CA as the only trust anchor, client certificates requested and (by
 * default) required, HTTP/2 only.
 */
export function serverTlsOptions(
  options: TransportTlsOptions,
  server: ServerTlsOptions = {},
): http2.SecureServerOptions {
  checkTls(options);
  const require = server.requireClientCertificate ?? true;
  return {
    ca: options.ca as string | Buffer | (string | Buffer)[],
    cert: options.cert,
    key: options.key,
    requestCert: true,
    rejectUnauthorized: require,
    allowHTTP1: false,
    minVersion: "TLSv1.2",
  };
}

/**
 * Options for `http2.connect` (an `Http2SessionManager`) to dial node `peer` at `address` over
 * mutual TLS: the node's certificate as the client certificate, the cluster CA as the only
 * trust anchor, and the server's identity checked: with `verifyPeerIdentity` (the default) its
 * certificate must name `peer`; without, it must match the address's host name.
 */
export function clientTlsOptions(
  options: TransportTlsOptions,
  peer: NodeId,
  address: string,
): http2.SecureClientSessionOptions {
  checkTls(options);
  const host = new URL(address).hostname.replace(/^\[(.*)\]$/, "$1");
  const verifyIdentity = options.verifyPeerIdentity ?? true;
  return {
    ca: options.ca as string | Buffer | (string | Buffer)[],
    cert: options.cert,
    key: options.key,
    minVersion: "TLSv1.2",
    // RFC 6066 forbids an IP address as server name; the certificate check below covers it.
    ...(isIP(host) === 0 ? { servername: host } : {}),
    checkServerIdentity: (hostname, cert) => {
      if (!verifyIdentity) return tls.checkServerIdentity(hostname, cert);
      const ids = nodeIdsOfCertificate(cert);
      return ids.includes(peer) ? undefined : new PeerIdentityError(peer, ids, "server");
    },
  };
}

/** A request as connectNodeAdapter's `contextValues` receives it. */
export type NodeServerRequest = http.IncomingMessage | http2.Http2ServerRequest;

/** What the TLS layer knows about the client of a request. */
export interface PeerTlsInfo {
  /** The client certificate was presented and the CA signed it. */
  readonly authorized: boolean;
  /** Why it is not authorized, when it is not. */
  readonly authorizationError: string | undefined;
  /** The node ids its certificate names. */
  readonly nodeIds: readonly NodeId[];
}

/** Where `raftContextValues` puts the client's TLS identity; undefined on a plaintext request. */
export const peerTlsKey = createContextKey<PeerTlsInfo | undefined>(undefined, {
  description: "the TLS identity of the raft peer",
});

/**
 * The `contextValues` option for `connectNodeAdapter` on a server that mounts the raft routes
 * over TLS: it hands the client certificate's identity to the routes, which refuse streams
 * without it when the transport uses TLS. Pass `values` to add to context values of your own.
 */
export function raftContextValues(
  request: NodeServerRequest,
  values: ContextValues = createContextValues(),
): ContextValues {
  const info = requestTlsInfo(request);
  if (info !== undefined) values.set(peerTlsKey, info);
  return values;
}

/** The TLS identity of a request's client; undefined on a plaintext request. */
export function requestTlsInfo(request: NodeServerRequest): PeerTlsInfo | undefined {
  const socket = request.socket;
  return socket instanceof tls.TLSSocket ? peerTlsInfo(socket) : undefined;
}

/** The peer identity of each TLS connection, worked out once: it cannot change. */
const peerInfoBySocket = new WeakMap<tls.TLSSocket, PeerTlsInfo>();

function peerTlsInfo(socket: tls.TLSSocket): PeerTlsInfo {
  let info = peerInfoBySocket.get(socket);
  if (info === undefined) {
    const error = socket.authorizationError as Error | string | null | undefined;
    info = {
      authorized: socket.authorized,
      authorizationError: error === null || error === undefined ? undefined : String(error),
      nodeIds: nodeIdsOfCertificate(socket.getPeerCertificate()),
    };
    peerInfoBySocket.set(socket, info);
  }
  return info;
}
