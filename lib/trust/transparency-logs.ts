import type { KeyObject } from 'node:crypto';
import { rekorV2Origin, tesseractOrigin, tileLogBaseUrl } from '../config/log-origins';
import { logChoice } from '../config/logs-schema';
import type { SigstoreConfig } from '../config/schema';
import { serviceUrls } from '../config/service-urls';
import { ConfigError, StateError } from '../errors';
import { LOG_MIGRATIONS, type LogMigration, type LogMigrations } from '../lifecycle/log-migrations';
import { logIdOf } from '../pki/keys';
import type { LogKey } from '../pki/state-items';
import { rekorV2LogId } from './log-ids';

/** The public part of a log key: what trust outputs need. */
export type PublicLogKey = Pick<LogKey, 'publicKey' | 'createdAt'>;

/** The public log keys of a state: the Trillian-backed logs' keys, and the tile-based logs' when minted. */
export interface PublicLogKeys {
  readonly rekor: PublicLogKey;
  readonly ctlog: PublicLogKey;
  readonly tileLogs?: { readonly rekorV2?: PublicLogKey; readonly tesseract?: PublicLogKey };
  /** The migrations from a Trillian-backed log to a tile-based one the state records (lib/lifecycle/log-migrations.ts). @default - none */
  readonly logMigrations?: LogMigrations;
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

/** The logs of an environment: the one each log runs, and the Trillian-backed log a migration replaced (it stays trusted). */
export interface EnvironmentLogs {
  readonly rekor: TransparencyLog;
  readonly ctlog: TransparencyLog;
  /**
   * The migrations behind a tile-based log: the Trillian-backed log (every shard, at `urls`) stays
   * listed with validFor ending at `previousValidUntil`, the tile-based one is the one to sign with
   * from `activeFrom`. @default - none
   */
  readonly migrated: LogMigrations;
}

/**
 * The Rekor log and the CT log the environment runs, as trusted_root.json, the signing config, the
 * public key files and the TUF targets publish them: Rekor v1 / ct_server with the RFC 6962 log id
 * (SHA-256 of the SubjectPublicKeyInfo), Rekor v2 with the signed-note key hash of its origin
 * (log-ids.ts), TesseraCT with the RFC 6962 id its SCTs carry. A tile-based log whose key the state
 * lacks is a StateError; a configuration that goes back to the Trillian-backed log a migration
 * replaced is a ConfigError.
 */
export function transparencyLogs(material: PublicLogKeys, config: Pick<SigstoreConfig, 'services' | 'cluster' | 'logs'>): EnvironmentLogs {
  const logs = logChoice(config);
  const urls = serviceUrls(config as SigstoreConfig);
  const migrations = material.logMigrations ?? {};
  const tileKey = (key: PublicLogKey | undefined, id: string, field: string): PublicLogKey => {
    if (key) return key;
    throw new StateError('STATE_INCOMPLETE', `the state lacks ${id}, the key of the log that ${field} selects; run "sigstore-cdk bootstrap" (or synth with the local signer)`);
  };
  refuseGoingBack(migrations.rekor, 'rekor-log', logs.rekor);
  refuseGoingBack(migrations.ctlog, 'ct-log', logs.ct);
  let rekor: TransparencyLog;
  if (logs.rekor === 'v2') {
    const key = tileKey(material.tileLogs?.rekorV2, 'rekor-v2-key', 'logs.rekor "v2"');
    const origin = rekorV2Origin(config, migrations.rekor !== undefined);
    rekor = { baseUrl: tileLogBaseUrl(config, 'rekor', origin), publicKey: key.publicKey, createdAt: key.createdAt, logId: rekorV2LogId(origin, key.publicKey), majorApiVersion: 2, origin };
  } else {
    rekor = { baseUrl: urls.rekor, publicKey: material.rekor.publicKey, createdAt: material.rekor.createdAt, logId: logIdOf(material.rekor.publicKey), majorApiVersion: 1 };
  }
  let ctlog: TransparencyLog;
  if (logs.ct === 'tesseract') {
    const key = tileKey(material.tileLogs?.tesseract, 'tesseract-key', 'logs.ct "tesseract"');
    const origin = tesseractOrigin(config, migrations.ctlog !== undefined);
    // SCTs name the log by the RFC 6962 id (tesseract internal/ct/signatures.go getCTLogID).
    ctlog = { baseUrl: tileLogBaseUrl(config, 'ctlog', origin), publicKey: key.publicKey, createdAt: key.createdAt, logId: logIdOf(key.publicKey), majorApiVersion: 1, origin };
  } else {
    ctlog = { baseUrl: urls.ctlog, publicKey: material.ctlog.publicKey, createdAt: material.ctlog.createdAt, logId: logIdOf(material.ctlog.publicKey), majorApiVersion: 1 };
  }
  return { rekor, ctlog, migrated: migrations };
}

/** A migrated log stays migrated: going back would stop the published tile-based log (v2 → v1 is refused). */
function refuseGoingBack(migration: LogMigration | undefined, item: keyof typeof LOG_MIGRATIONS, chosen: string): void {
  const { field, from, to, server } = LOG_MIGRATIONS[item];
  if (!migration || chosen === to) return;
  throw new ConfigError(
    'CONFIG_INVALID',
    `${field} "${chosen}": the state migrated this log from "${from}" to ${server} (rotate ${item}, cut-over ${migration.activeFrom.toISOString()}), ` +
      `whose key clients trust; going back is not supported. Expected "${to}"`,
  );
}
