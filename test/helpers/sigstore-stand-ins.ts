import { createHash, createPublicKey, sign as nodeSign, type KeyObject } from 'node:crypto';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize, sep } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { json as sigstoreJson } from '@sigstore/core';
import { spkiDer } from '../../lib/pki/keys';
import { decryptStateKey, type LogKey, type PkiMaterial } from '../../lib/pki/state-items';
import { hashedRekordV002OfRequest, rekorV2LogEntry, signedNoteKeyHash } from './rekor-entries';
import { sctSignerOf } from './sct';
import { issueFulcioLeafFor, opensslTimestampOfDigest } from './sigstore-bundle';

/*
 * Loopback stand-ins for the deployed HTTP APIs, signing with the state's own keys, so that what a
 * client verifies is real even though the servers are not:
 *   GET  /tuf/…                       the TUF repository (dist/trust/tuf/)
 *   POST /fulcio/api/v2/signingCert   a leaf from the minted Fulcio intermediate, with an embedded
 *                                     SCT (RFC 6962 §3.2, precert entry) signed by the CT log key
 *   POST /tsa/api/v1/timestamp        an RFC 3161 response from `openssl ts -reply` with the TSA leaf
 *   POST /rekor/api/v1/log/entries    a hashedrekord entry with a SET and an inclusion proof (a tree
 *                                     of one) whose checkpoint is signed by the Rekor key
 *   POST /rekor/api/v2/log/entries    Rekor v2 (rekor-tiles): a hashedrekord 0.0.2 entry appended to an
 *                                     in-memory log, with an inclusion proof and a checkpoint signed
 *                                     as a signed note by the state's Rekor v2 (Ed25519) key
 * The OIDC token is not verified (there is no issuer here): its `sub`/`email` becomes the SAN.
 */

export interface StandIns {
  readonly url: string;
  readonly urls: { readonly fulcio: string; readonly tsa: string; readonly rekor: string; readonly tuf: string };
  /** Requests so far, `POST /fulcio/api/v2/signingCert`. */
  readonly requests: string[];
  /** Makes one component answer HTTP 503 from now on. */
  fail(component: 'fulcio' | 'tsa' | 'rekor' | 'tuf'): void;
  close(): Promise<void>;
}

export interface StandInOptions {
  /** The keys the stand-ins sign with (read on each request when a function: a state minted later). */
  readonly material: PkiMaterial | (() => Promise<PkiMaterial>);
  /** The TUF repository served under /tuf. */
  readonly tufDirectory: string;
  /** The Rekor log's origin as its checkpoints name it: the host of its base URL in trusted_root.json. */
  readonly rekorOrigin: string;
  /** The OIDC issuer written into certificates. @default https://issuer.example.com */
  readonly oidcIssuer?: string;
  /** The CT log whose key signs the SCTs: ct_server's (`ctlog-key`) or TesseraCT's (`tesseract-key`, `logs.ct: tesseract`). @default 'ct_server' */
  readonly ctLog?: 'ct_server' | 'tesseract';
}

/** A fake OIDC identity token (unsigned JWT) with `sub` and `email`. */
export function fakeIdentityToken(email = 'smoke@example.com', issuer = 'https://issuer.example.com'): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: issuer, sub: email, email, email_verified: true, aud: 'sigstore', exp: Math.floor(Date.now() / 1000) + 600 })}.c2lnbmF0dXJl`;
}

export async function startStandIns(options: StandInOptions): Promise<StandIns> {
  const materialOf = async () => (typeof options.material === 'function' ? options.material() : options.material);
  const failing = new Set<string>();
  const requests: string[] = [];
  const work = mkdtempSync(join(tmpdir(), 'sigstore-cdk-standins-'));
  // Rekor v2's log: a few earlier entries, so that an inclusion proof has hashes to check.
  const rekorV2Entries: Buffer[] = [0, 1, 2, 3, 4].map((i) => Buffer.from(`earlier stand-in entry ${i}`));
  const handlers: Record<string, (body: Buffer) => Promise<{ type: string; body: Buffer | string; status?: number }>> = {
    'POST /fulcio/api/v2/signingCert': async (body) => {
      const request = JSON.parse(body.toString('utf8'));
      const token = String(request.credentials.oidcIdentityToken);
      const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
      const material = await materialOf();
      const ctKey = options.ctLog === 'tesseract' ? material.tileLogs?.tesseract : material.ctlog;
      if (!ctKey) throw new Error('the state has no tesseract-key');
      const leaf = await fulcioLeafWithSct(material, ctKey, createPublicKey(request.publicKeyRequest.publicKey.content), claims.email ?? claims.sub, options.oidcIssuer ?? claims.iss);
      const pems = [leaf, material.fulcio.intermediate, material.fulcio.root].map((certificate) => certificate.toString('pem'));
      return { type: 'application/json', status: 201, body: JSON.stringify({ signedCertificateEmbeddedSct: { chain: { certificates: pems } } }) };
    },
    'POST /tsa/api/v1/timestamp': async (body) => {
      const request = JSON.parse(body.toString('utf8'));
      return { type: 'application/timestamp-reply', body: opensslTimestampOfDigest(await materialOf(), Buffer.from(request.artifactHash, 'base64'), mkdtempSync(join(work, 'tsa-'))) };
    },
    'POST /rekor/api/v1/log/entries': async (body) => {
      const entry = rekorEntry(await materialOf(), JSON.parse(body.toString('utf8')), options.rekorOrigin);
      return { type: 'application/json', status: 201, body: JSON.stringify(entry) };
    },
    'POST /rekor/api/v2/log/entries': async (body) => {
      // rekor-tiles v2.2.1 internal/server/service.go CreateEntry: 400 for a request without digest,
      // signature or verifier (pkg/types/hashedrekord/hashedrekord.go validate), else 201 and the entry.
      const request = JSON.parse(body.toString('utf8')).hashedRekordRequestV002;
      if (!request?.digest || !request.signature?.content || !request.signature.verifier) {
        return { type: 'application/json', status: 400, body: JSON.stringify({ code: 3, message: 'invalid hashedrekord request' }) };
      }
      const key = (await materialOf()).tileLogs?.rekorV2;
      if (!key) throw new Error('the state has no rekor-v2-key');
      const keyHash = signedNoteKeyHash(options.rekorOrigin, key.publicKey);
      rekorV2Entries.push(hashedRekordV002OfRequest(request));
      const log = { logKey: decryptStateKey(key.privateKey, 'rekor v2'), logId: keyHash, origin: options.rekorOrigin, keyHint: keyHash.subarray(0, 4) };
      return { type: 'application/json', status: 201, body: JSON.stringify(rekorV2LogEntry(rekorV2Entries, rekorV2Entries.length - 1, log)) };
    },
  };
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      const route = `${request.method} ${path}`;
      requests.push(route);
      const component = path.split('/')[1];
      if (failing.has(component)) {
        response.writeHead(503, { 'content-type': 'text/plain' }).end(`${component} stand-in: unavailable`);
        return;
      }
      const answer = (async () => {
        if (request.method === 'GET' && path.startsWith('/tuf/')) {
          const file = normalize(join(options.tufDirectory, decodeURIComponent(path.slice('/tuf/'.length))));
          if (!file.startsWith(options.tufDirectory + sep)) return { status: 404, type: 'text/plain', body: 'not found' };
          try {
            return { status: 200, type: 'application/octet-stream', body: await fs.readFile(file) };
          } catch {
            return { status: 404, type: 'text/plain', body: 'not found' };
          }
        }
        const handler = handlers[route];
        if (!handler) return { status: 404, type: 'text/plain', body: `no route ${route}` };
        return handler(Buffer.concat(chunks));
      })();
      answer.then(
        (result) => response.writeHead(result.status ?? 200, { 'content-type': result.type }).end(result.body),
        (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`stand-in error: ${error.message}`),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    urls: { fulcio: `${url}/fulcio`, tsa: `${url}/tsa`, rekor: `${url}/rekor`, tuf: `${url}/tuf` },
    requests,
    fail: (component) => failing.add(component),
    close: () =>
      new Promise((resolve) => {
        rmSync(work, { recursive: true, force: true });
        server.close(() => resolve());
        // Also the connections a client keeps open (close() only ends the idle ones): a client that did
        // not read a 503's body kept its socket until the server's keep-alive timeout, 6 s per test.
        server.closeAllConnections();
      }),
  };
}

/**
 * A Fulcio-style leaf for `publicKey` from the minted intermediate, with one embedded SCT from the CT
 * log key over the precertificate (test/helpers/sct.ts).
 */
function fulcioLeafWithSct(material: PkiMaterial, ctKey: LogKey, publicKey: KeyObject, email: string, oidcIssuer: string): Promise<x509.X509Certificate> {
  const issuedAt = new Date();
  // notBefore a second back (whole seconds, as Fulcio's certificates have); the SCT at the issuing
  // instant, as a CT log stamps it: backdated too, it predated a log minted within the last second
  // (the tiles smoke test mints its state just before; 'SCT verification failed' 2 runs in 10).
  const now = new Date(Math.floor(issuedAt.getTime() / 1000) * 1000 - 1000);
  return issueFulcioLeafFor(material, publicKey, { email, oidcIssuer, now, sctTime: issuedAt, sct: sctSignerOf(ctKey) });
}

/** A Rekor v1 answer for a proposed entry: log index 0 of a tree of one, with its SET and checkpoint. */
function rekorEntry(material: PkiMaterial, proposed: unknown, origin: string): Record<string, unknown> {
  const rekorKey = decryptStateKey(material.rekor.privateKey, 'rekor');
  const body = Buffer.from(JSON.stringify(proposed)).toString('base64');
  const logID = createHash('sha256').update(spkiDer(material.rekor.publicKey)).digest('hex');
  const integratedTime = Math.floor(Date.now() / 1000);
  const set = nodeSign('sha256', Buffer.from(sigstoreJson.canonicalize({ body, integratedTime, logIndex: 0, logID }), 'utf8'), { key: rekorKey, dsaEncoding: 'der' });
  const leafHash = createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(body, 'base64')])).digest();
  const note = `${origin} - 1\n1\n${leafHash.toString('base64')}\n`;
  const noteSignature = nodeSign('sha256', Buffer.from(note, 'utf8'), { key: rekorKey, dsaEncoding: 'der' });
  const checkpoint = `${note}\n\u2014 ${origin} ${Buffer.concat([Buffer.from(logID, 'hex').subarray(0, 4), noteSignature]).toString('base64')}\n`;
  const uuid = leafHash.toString('hex');
  return {
    [uuid]: {
      body,
      integratedTime,
      logID,
      logIndex: 0,
      verification: {
        signedEntryTimestamp: set.toString('base64'),
        inclusionProof: { logIndex: 0, treeSize: 1, rootHash: leafHash.toString('hex'), hashes: [], checkpoint },
      },
    },
  };
}

/**
 * The environment the smoke tests deploy (the local signer, the stand-ins' hostnames, one OIDC issuer
 * whose tokens `fakeIdentityToken` makes).
 */
export const SMOKE_ENV_YAML = `organization: Test Org
signer: local
services:
  fulcio: { hostname: fulcio.example.com }
  rekor: { hostname: rekor.example.com }
  ctlog: { hostname: ctlog.example.com }
  tsa: { hostname: tsa.example.com }
  tuf: { hostname: tuf.example.com }
cluster: { ingressTlsSecret: sigstore-tls }
oidc:
  issuers: [{ url: https://issuer.example.com }]
`;
