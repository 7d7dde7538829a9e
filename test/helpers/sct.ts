import { createHash, createPublicKey, sign as nodeSign, type KeyObject } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { logIdOf } from '../../lib/pki/keys';
import { decryptStateKey, type LogKey } from '../../lib/pki/state-items';

/*
 * The test plays the CT log the way Fulcio uses it (RFC 6962): Fulcio builds a precertificate, the log
 * signs an SCT over its precert entry, and Fulcio issues the certificate with the same TBS plus the
 * SCT list extension. @sigstore/verify 3.1.1 dist/key/sct.js checks it by removing that extension,
 * re-encoding the TBS and verifying the SCT signature with the ctlogs key whose log id the SCT names
 * (and whose validFor holds the SCT's timestamp).
 */

/** RFC 6962 §3.3: the embedded SCT list extension. */
export const SCT_LIST_OID = '1.3.6.1.4.1.11129.2.4.2';

/** A CT log that signs an SCT for a leaf. */
export interface SctSigner {
  /** The log's ECDSA private key. */
  readonly logKey: KeyObject;
  /** The log id the SCT names: SHA-256 of the log's DER SubjectPublicKeyInfo (RFC 6962 §3.2). */
  readonly logId: Buffer;
}

/** The CT log of a private key: its log id is the hash of the matching public key. */
export function sctSignerOfKey(logKey: KeyObject): SctSigner {
  return { logKey, logId: logIdOf(createPublicKey(logKey)) };
}

/** The CT log of a state log key (`ctlog-key`, `tesseract-key`): decrypts its private key. */
export function sctSignerOf(key: LogKey): SctSigner {
  return { logKey: decryptStateKey(key.privateKey, 'ct log'), logId: logIdOf(key.publicKey) };
}

/**
 * Issues a certificate with one embedded SCT: `build([])` is the precertificate (its TBS is the
 * final TBS without the SCT extension), `sct` signs its precert entry at `timestamp` naming
 * `issuer`'s key, and `build([SCT list extension])` is the certificate. `build` must produce the
 * same TBS apart from the extra extensions (same serial, validity, key and extensions, in order).
 */
export async function issueWithEmbeddedSct(
  build: (extra: x509.Extension[]) => Promise<x509.X509Certificate>,
  issuer: x509.X509Certificate,
  sct: SctSigner,
  timestamp: Date,
): Promise<x509.X509Certificate> {
  const precertificate = await build([]);
  const der = Buffer.from(precertificate.rawData);
  const tbs = der.subarray(...tbsRange(der));
  const list = sctList(sct, Buffer.from(issuer.publicKey.rawData), tbs, timestamp);
  return build([new x509.Extension(SCT_LIST_OID, false, derOctetString(list))]);
}

/**
 * A SignedCertificateTimestampList holding one SCT v1 (RFC 6962 §3.2–3.3) over the precert entry
 * (SHA-256 of the issuer's SubjectPublicKeyInfo ‖ uint24 length ‖ TBS), ECDSA with SHA-256.
 */
function sctList(sct: SctSigner, issuerSpki: Buffer, tbs: Buffer, timestamp: Date): Buffer {
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(BigInt(timestamp.getTime()));
  const signed = Buffer.concat([
    Buffer.from([0, 0]), // sct_version v1, signature_type certificate_timestamp
    time,
    uint(1, 2), // entry_type precert_entry
    createHash('sha256').update(issuerSpki).digest(),
    uint(tbs.length, 3),
    tbs,
    uint(0, 2), // no extensions
  ]);
  const signature = nodeSign('sha256', signed, { key: sct.logKey, dsaEncoding: 'der' });
  // version, log id, timestamp, no extensions, SignatureAndHashAlgorithm (sha256, ecdsa), signature.
  const entry = Buffer.concat([Buffer.from([0]), sct.logId, time, uint(0, 2), Buffer.from([4, 3]), uint(signature.length, 2), signature]);
  return Buffer.concat([uint(entry.length + 2, 2), uint(entry.length, 2), entry]);
}

/** The [start, end) of the TBSCertificate inside a DER Certificate (the first element of its SEQUENCE). */
function tbsRange(der: Buffer): [number, number] {
  const header = (offset: number) => {
    const first = der[offset + 1];
    if (first < 0x80) return { start: offset + 2, length: first };
    const bytes = first & 0x7f;
    return { start: offset + 2 + bytes, length: der.readUIntBE(offset + 2, bytes) };
  };
  const outer = header(0);
  const inner = header(outer.start);
  return [outer.start, inner.start + inner.length];
}

function uint(value: number, bytes: number): Buffer {
  const buffer = Buffer.alloc(bytes);
  buffer.writeUIntBE(value, 0, bytes);
  return buffer;
}

/** DER OCTET STRING (the list is shorter than 64 KiB). */
function derOctetString(content: Buffer): ArrayBuffer {
  const length = content.length < 0x80 ? Buffer.from([content.length]) : content.length < 0x100 ? Buffer.from([0x81, content.length]) : Buffer.from([0x82, content.length >> 8, content.length & 0xff]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x04]), length, content])).buffer;
}
