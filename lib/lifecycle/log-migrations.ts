import { StateError } from '../errors';
import { TILE_LOG_KEY_ITEMS } from '../pki/tile-log-keys';
import type { StateSnapshot } from '../state/store';

/*
 * A log migration moves a published environment from a Trillian-backed log to a tile-based one:
 * Rekor v1 to Rekor v2 (`rotate rekor-log`), ct_server to TesseraCT (`rotate ct-log`). It is a
 * rotation whose generation 2 is a new log rather than a new key of the same log: the manifest
 * records it under `generations.<item>` like every other rotation (generation 2, the state item of
 * the new log's key, the cut-over and the end of the old log's validFor). The old log (every shard)
 * stays in trusted_root.json with `validFor.end` = cut-over + overlap and stays deployed, read-only
 * after the cut-over (its Trillian trees frozen), so what it logged stays verifiable and can still be
 * looked up; the new log runs beside it under its own name (MIGRATED_LOG_NAMES).
 */

/** What `rotate` migrates, and how. */
export const LOG_MIGRATIONS = {
  'rekor-log': { log: 'rekor', field: 'logs.rekor', from: 'v1', to: 'v2', keyItem: TILE_LOG_KEY_ITEMS.rekorV2, server: 'Rekor v2 (rekor-tiles)' },
  'ct-log': { log: 'ctlog', field: 'logs.ct', from: 'trillian', to: 'tesseract', keyItem: TILE_LOG_KEY_ITEMS.tesseract, server: 'TesseraCT' },
} as const;

export type LogMigrationItem = keyof typeof LOG_MIGRATIONS;

export const LOG_MIGRATION_ITEMS = Object.keys(LOG_MIGRATIONS) as LogMigrationItem[];

export function isLogMigrationItem(value: string): value is LogMigrationItem {
  return Object.prototype.hasOwnProperty.call(LOG_MIGRATIONS, value);
}

/**
 * The Deployment and Service of a tile-based log that replaced a Trillian-backed one: the old log
 * keeps its names (`rekor`, `ctlog`) and its in-cluster URL; the new one gets these. A migrated
 * TesseraCT also gets its own URL prefix, `<prefix>-tiles` (a CT log's URL is part of its identity,
 * and ct_server keeps serving the old prefix).
 */
export const MIGRATED_LOG_NAMES = { rekor: 'rekor-tiles', ctlog: 'ctlog-tiles' } as const;

/** The URL prefix of a TesseraCT that replaced ct_server. */
export function migratedCtPrefix(prefix: string): string {
  return `${prefix}-tiles`;
}

/** One recorded migration. */
export interface LogMigration {
  /** The cut-over: from then on clients sign with the new log (signing config) and the old one is frozen. */
  readonly activeFrom: Date;
  /** The end of the old log's validFor in trusted_root.json (the cut-over plus the overlap). */
  readonly previousValidUntil: Date;
}

/** The migrations a state records, by log. */
export interface LogMigrations {
  readonly rekor?: LogMigration;
  readonly ctlog?: LogMigration;
}

/** The migrations the manifest records; a record that is not generation 2 of the new log's key item is STATE_CORRUPT. */
export function readLogMigrations(snapshot: StateSnapshot): LogMigrations {
  const result: { rekor?: LogMigration; ctlog?: LogMigration } = {};
  for (const item of LOG_MIGRATION_ITEMS) {
    const records = snapshot.generationRecords(item);
    if (records.length === 0) continue;
    const { keyItem, log } = LOG_MIGRATIONS[item];
    const [record] = records;
    if (records.length !== 1 || record.generation !== 2 || record.itemId !== keyItem.id || !snapshot.item(keyItem.id)) {
      throw new StateError(
        'STATE_CORRUPT',
        `the manifest's generations.${item} is not one migration to ${keyItem.id} (generation 2, the state item present): the state was edited or damaged`,
      );
    }
    result[log] = { activeFrom: new Date(record.activeFrom), previousValidUntil: new Date(record.previousValidUntil) };
  }
  return result;
}

/** Whether the cut-over of a migration has come at `at`. */
export function migrationCutOverReached(migration: LogMigration | undefined, at: Date): boolean {
  return migration !== undefined && migration.activeFrom.getTime() <= at.getTime();
}
