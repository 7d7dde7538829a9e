import { createHash, sign as nodeSign, type KeyObject } from 'node:crypto';
import { json as sigstoreJson } from '@sigstore/core';
import { inclusionPath, leafHash, treeHash } from './merkle';
import type { SignedArtifact } from './sigstore-bundle';

/* eslint-disable @typescript-eslint/no-explicit-any */

/*
 * Transparency log entries built as the servers build them, for bundles that @sigstore/verify checks:
 * a Rekor v2 entry (hashedrekord 0.0.2, a checkpoint signed as a C2SP signed note, no integrated time)
 * and a Rekor v1 entry (hashedrekord 0.0.1 with its integrated time and signed entry timestamp).
 */

/** The C2SP signed-note key id of an Ed25519 key, computed here from the spec (c2sp.org/signed-note), not by lib/. */
export function signedNoteKeyHash(origin: string, publicKey: KeyObject): Buffer {
  const raw = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
  return createHash('sha256').update(Buffer.concat([Buffer.from(`${origin}\n`), Buffer.from([0x01]), raw])).digest();
}

/** A Rekor v2 hashedrekord v0.0.2 entry body for the signed artifact (sigstore/protobuf-specs rekor/v2). */
export function hashedRekordV002(signed: SignedArtifact): Buffer {
  const bundle = signed.bundle as any;
  return Buffer.from(
    JSON.stringify({
      apiVersion: '0.0.2',
      kind: 'hashedrekord',
      spec: {
        hashedRekordV002: {
          data: { algorithm: 'SHA2_256', digest: bundle.messageSignature.messageDigest.digest },
          signature: {
            content: bundle.messageSignature.signature,
            verifier: { x509Certificate: { rawBytes: bundle.verificationMaterial.certificate.rawBytes }, keyDetails: 'PKIX_ECDSA_P256_SHA_256' },
          },
        },
      },
    }),
  );
}

/** How a Rekor v2 log signs: its Ed25519 key, the log id and key hint (from its signed-note key hash) and its checkpoint origin. */
export interface RekorV2Log {
  readonly logKey: KeyObject;
  readonly logId: Buffer;
  readonly origin: string;
  readonly keyHint: Buffer;
}

/**
 * The TransparencyLogEntry (proto3 JSON) of `entries[index]` in a Rekor v2 log of `entries`, as
 * rekor-tiles v2.2.1 answers `POST /api/v2/log/entries` (internal/server/service.go CreateEntry,
 * internal/tessera/tessera.go buildProof): log index, log id, kind and version, the RFC 6962
 * inclusion proof with the checkpoint `origin\nsize\nroot\n` signed as a C2SP signed note (key hint ‖
 * Ed25519 signature), the canonicalized body; no integrated time (proto3 JSON leaves out the zero).
 */
export function rekorV2LogEntry(entries: readonly Buffer[], index: number, log: RekorV2Log) {
  const root = treeHash(entries);
  const note = `${log.origin}\n${entries.length}\n${root.toString('base64')}\n`;
  const signature = nodeSign(null, Buffer.from(note), log.logKey);
  const envelope = `${note}\n\u2014 ${log.origin} ${Buffer.concat([log.keyHint, signature]).toString('base64')}\n`;
  return {
    logIndex: String(index),
    logId: { keyId: log.logId.toString('base64') },
    kindVersion: { kind: 'hashedrekord', version: '0.0.2' },
    inclusionProof: {
      logIndex: String(index),
      rootHash: root.toString('base64'),
      treeSize: String(entries.length),
      hashes: inclusionPath(index, entries).map((hash) => hash.toString('base64')),
      checkpoint: { envelope },
    },
    canonicalizedBody: entries[index].toString('base64'),
  };
}

/**
 * The entry rekor-tiles v2.2.1 logs for a `hashedRekordRequestV002` (pkg/types/hashedrekord/hashedrekord.go
 * ToLogEntry: the request's signature and digest, SHA2_256), marshalled and canonicalized (RFC 8785)
 * as its CreateEntry does.
 */
export function hashedRekordV002OfRequest(request: { digest: string; signature: { content: string; verifier: unknown } }): Buffer {
  const entry = { kind: 'hashedrekord', apiVersion: '0.0.2', spec: { hashedRekordV002: { signature: request.signature, data: { digest: request.digest, algorithm: 'SHA2_256' } } } };
  return Buffer.from(sigstoreJson.canonicalize(entry), 'utf8');
}

/**
 * The bundle with a Rekor v2 tlog entry: the entry at index 3 of a 6-entry log, its RFC 6962 inclusion
 * proof, and a checkpoint `origin\nsize\nroot\n` signed as a C2SP signed note (key hint ‖ Ed25519
 * signature) under `origin` with `logKey`.
 */
export function withRekorV2Entry(signed: SignedArtifact, options: RekorV2Log) {
  const body = hashedRekordV002(signed);
  const other = (i: number): Buffer => Buffer.from(`other entry ${i}`);
  const entries: Buffer[] = [other(0), other(1), other(2), body, other(4), other(5)];
  const tlogEntry = { ...rekorV2LogEntry(entries, 3, options), integratedTime: '0' };
  expect(leafHash(body)).toHaveLength(32);
  const bundle = signed.bundle as any;
  return { ...signed, bundle: { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [tlogEntry] } } };
}

/**
 * The bundle with a Rekor v1 tlog entry as Rekor v1 answers: hashedrekord 0.0.1 over the bundle's
 * signature and digest, integrated at `integratedTime`, its signed entry timestamp (the SET: the
 * log key's ECDSA signature over the canonical {body, integratedTime, logIndex, logID}) and an
 * inclusion proof in a tree of one with a checkpoint `<origin> - <treeId>`. The bundle keeps no RFC
 * 3161 timestamp: the integrated time is its time, as for bundles signed with Rekor v1 alone.
 */
export function withRekorV1Entry(signed: SignedArtifact, options: { logKey: KeyObject; logId: Buffer; origin: string; integratedTime: Date; certificatePem: string }) {
  const bundle = signed.bundle as any;
  const body = Buffer.from(
    JSON.stringify({
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: Buffer.from(bundle.messageSignature.messageDigest.digest, 'base64').toString('hex') } },
        signature: { content: bundle.messageSignature.signature, publicKey: { content: Buffer.from(options.certificatePem).toString('base64') } },
      },
    }),
  );
  const integratedTime = Math.floor(options.integratedTime.getTime() / 1000);
  const payload = { body: body.toString('base64'), integratedTime, logIndex: 0, logID: options.logId.toString('hex') };
  const set = nodeSign('sha256', Buffer.from(sigstoreJson.canonicalize(payload), 'utf8'), { key: options.logKey, dsaEncoding: 'der' });
  const root = createHash('sha256').update(Buffer.concat([Buffer.from([0]), body])).digest();
  const note = `${options.origin} - 1\n1\n${root.toString('base64')}\n`;
  const noteSignature = nodeSign('sha256', Buffer.from(note, 'utf8'), { key: options.logKey, dsaEncoding: 'der' });
  const envelope = `${note}\n\u2014 ${options.origin} ${Buffer.concat([options.logId.subarray(0, 4), noteSignature]).toString('base64')}\n`;
  const tlogEntry = {
    logIndex: '0',
    logId: { keyId: options.logId.toString('base64') },
    kindVersion: { kind: 'hashedrekord', version: '0.0.1' },
    integratedTime: String(integratedTime),
    inclusionPromise: { signedEntryTimestamp: set.toString('base64') },
    inclusionProof: { logIndex: '0', rootHash: root.toString('base64'), treeSize: '1', hashes: [], checkpoint: { envelope } },
    canonicalizedBody: body.toString('base64'),
  };
  return {
    ...signed,
    bundle: { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [tlogEntry], timestampVerificationData: { rfc3161Timestamps: [] } } },
  };
}
