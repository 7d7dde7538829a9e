import type { KeyObject } from 'node:crypto';
import { rekorV2Origin, tesseractOrigin } from '../config/log-origins';
import { logChoice } from '../config/logs-schema';
import type { SigstoreConfig } from '../config/schema';
import { serviceUrls } from '../config/service-urls';
import { StateError } from '../errors';
import { logIdOf } from '../pki/keys';
import type { LogKey } from '../pki/state-items';
import { tileLogId } from './log-ids';

/** The public part of a log key: what trust outputs need. */
export type PublicLogKey = Pick<LogKey, 'publicKey' | 'createdAt'>;

/** The public log keys of a state: the Trillian-backed logs' keys, and the tile-based logs' when minted. */
export interface PublicLogKeys {
  readonly rekor: PublicLogKey;
  readonly ctlog: PublicLogKey;
  readonly tileLogs?: { readonly rekorV2?: PublicLogKey; readonly tesseract?: PublicLogKey };
}

/** One transparency log as clients are told about it. */
export interface TransparencyLog {
  /** `baseUrl` in trusted_root.json (the CT log's includes its prefix). */
  readonly baseUrl: string;
  readonly publicKey: KeyObject;
  /** Start of the key's validity: when it was minted. */
  readonly createdAt: Date;
  /** `logId.keyId`: what the log's entries (or SCTs) name it by. */
  readonly logId: Buffer;
  /** Rekor's major API version (signing_config `majorApiVersion`); 1 for the CT logs. */
  readonly majorApiVersion: 1 | 2;
  /** The checkpoint origin of a tile-based log. @default - none (Trillian-backed logs) */
  readonly origin?: string;
}

/**
 * The Rekor log and the CT log the environment runs, as trusted_root.json, the signing config, the
 * public key files and the TUF targets publish them: Rekor v1 / ct_server with the RFC 6962 log id
 * (SHA-256 of the SubjectPublicKeyInfo), or Rekor v2 / TesseraCT with the tile log id of their
 * origin (log-ids.ts). A tile-based log whose key the state lacks is a StateError.
 */
export function transparencyLogs(material: PublicLogKeys, config: Pick<SigstoreConfig, 'services' | 'cluster' | 'logs'>): { rekor: TransparencyLog; ctlog: TransparencyLog } {
  const logs = logChoice(config);
  const urls = serviceUrls(config as SigstoreConfig);
  const tileKey = (key: PublicLogKey | undefined, id: string, field: string): PublicLogKey => {
    if (key) return key;
    throw new StateError('STATE_INCOMPLETE', `the state lacks ${id}, the key of the log that ${field} selects; run "sigstore-cdk bootstrap" (or synth with the local signer)`);
  };
  let rekor: TransparencyLog;
  if (logs.rekor === 'v2') {
    const key = tileKey(material.tileLogs?.rekorV2, 'rekor-v2-key', 'logs.rekor "v2"');
    const origin = rekorV2Origin(config);
    rekor = { baseUrl: urls.rekor, publicKey: key.publicKey, createdAt: key.createdAt, logId: tileLogId(origin, key.publicKey), majorApiVersion: 2, origin };
  } else {
    rekor = { baseUrl: urls.rekor, publicKey: material.rekor.publicKey, createdAt: material.rekor.createdAt, logId: logIdOf(material.rekor.publicKey), majorApiVersion: 1 };
  }
  let ctlog: TransparencyLog;
  if (logs.ct === 'tesseract') {
    const key = tileKey(material.tileLogs?.tesseract, 'tesseract-key', 'logs.ct "tesseract"');
    const origin = tesseractOrigin(config);
    ctlog = { baseUrl: urls.ctlog, publicKey: key.publicKey, createdAt: key.createdAt, logId: tileLogId(origin, key.publicKey), majorApiVersion: 1, origin };
  } else {
    ctlog = { baseUrl: urls.ctlog, publicKey: material.ctlog.publicKey, createdAt: material.ctlog.createdAt, logId: logIdOf(material.ctlog.publicKey), majorApiVersion: 1 };
  }
  return { rekor, ctlog };
}
