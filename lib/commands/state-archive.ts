import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { resolve, sep } from 'node:path';
import type { SigstoreConfig } from '../config/schema';
import { checkCustody } from '../custody/check-custody';
import { ConfigError, StateError } from '../errors';
import { archivePassphrase, fileSetChecksum, openArchive, sealArchive } from '../state/archive';
import { writeFileAtomic } from '../state/atomic';
import type { LockOptions } from '../state/lock';
import { StateStore } from '../state/store';
import { verifyElsewhere } from '../state/verify-elsewhere';

/**
 * `sigstore-cdk state export --out FILE` / `state import FILE`: the whole state directory of an
 * environment as one encrypted archive (lib/state/archive.ts), and back, byte for byte, onto a machine
 * that has no state for the environment. The passphrase comes from SIGSTORE_CDK_ARCHIVE_PASSPHRASE.
 */
export interface StateArchiveOptions {
  readonly config: SigstoreConfig;
  /** @default .sigstore */
  readonly stateRoot?: string;
  /** Where the passphrase is read. @default process.env */
  readonly environment?: NodeJS.ProcessEnv;
  /** @default - the system clock */
  readonly clock?: () => Date;
  readonly lock?: LockOptions;
}

export interface StateExportResult {
  readonly env: string;
  readonly out: string;
  readonly files: number;
  /** SHA-256 of the archive file: record it beside the backup to check the file before an import. */
  readonly archiveSha256: string;
  /** SHA-256 over the state's files (path and hash of each), checked on import. */
  readonly checksum: string;
}

export async function runStateExport(options: StateArchiveOptions & { readonly out: string }): Promise<StateExportResult> {
  const passphrase = archivePassphrase(options.environment ?? process.env);
  const store = new StateStore({ root: options.stateRoot, env: options.config.env });
  if (isInside(options.out, store.directory)) {
    throw new ConfigError('CONFIG_INVALID', `--out ${options.out} is inside the state directory ${store.directory}: choose a file outside it`);
  }
  if (await exists(options.out)) throw new ConfigError('CONFIG_INVALID', `--out ${options.out} exists: an export never replaces a file; choose a new name`);
  const snapshot = await store.load();
  if (snapshot.itemIds.length === 0) throw new StateError('STATE_INCOMPLETE', `state ${store.directory} is empty: nothing to export`);
  await checkCustody(snapshot, store.directory);
  const { files } = await store.readFiles();
  const archive = await sealArchive(options.config.env, files, passphrase, (options.clock ?? (() => new Date()))());
  await writeFileAtomic(options.out, archive);
  return { env: options.config.env, out: options.out, files: files.size, archiveSha256: sha256(archive), checksum: fileSetChecksum(files) };
}

export interface StateImportResult {
  readonly env: string;
  readonly written: boolean;
  readonly files: number;
  readonly checksum: string;
}

export async function runStateImport(options: StateArchiveOptions & { readonly file: string; readonly expectSha256?: string }): Promise<StateImportResult> {
  const passphrase = archivePassphrase(options.environment ?? process.env);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(options.file);
  } catch (error) {
    throw new ConfigError('CONFIG_INVALID', `archive ${options.file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): expected the file "state export" wrote`);
  }
  if (options.expectSha256 !== undefined && sha256(bytes) !== options.expectSha256.toLowerCase()) {
    throw new StateError('STATE_ARCHIVE_INVALID', `archive ${options.file} has SHA-256 ${sha256(bytes)}, not ${options.expectSha256} as expected (--sha256): it is another or a damaged file; nothing was changed`);
  }
  const files = await openArchive(options.file, bytes, passphrase, options.config.env);
  const store = new StateStore({ root: options.stateRoot, env: options.config.env, lock: options.lock });
  const stateRoot = options.stateRoot ?? '.sigstore';
  const local = await store.readFiles();
  const checksum = fileSetChecksum(files);
  if (local.files.size > 0) {
    if (fileSetChecksum(local.files) === checksum) return { env: options.config.env, written: false, files: files.size, checksum };
    throw new StateError(
      'STATE_NOT_EMPTY',
      `state ${store.directory} exists and differs from the archive: an import restores onto an empty working copy only. ` +
        'Move the directory aside (keep it: it may be newer than the backup), then import again; nothing was changed',
    );
  }
  await verifyElsewhere(stateRoot, options.config.env, files);
  await store.replaceFiles(files, local.loadedFrom);
  return { env: options.config.env, written: true, files: files.size, checksum };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function isInside(path: string, directory: string): boolean {
  const full = resolve(path);
  const base = resolve(directory);
  return full === base || full.startsWith(`${base}${sep}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.lstat(path);
    return true;
  } catch {
    return false;
  }
}
