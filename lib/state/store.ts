import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, promises as fs, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { resolveRealPath } from './real-path';
import { registerSecret } from '../redaction';
import { StateError } from '../errors';
import { withFileSystemErrors, type FileSystemContext } from '../fs-errors';
import {
  PRIVATE_DIR_MODE,
  PRIVATE_FILE_MODE,
  findInterruptedReplace,
  removeStaleStaging,
  replaceDirectory,
  writeNewFile,
  writeNewFiles,
} from './atomic';
import { acquireLock, type HeldLock, type LockOptions } from './lock';
import { ceremonyLogHeadOf } from './ceremony-log-file';
import { DATA_KEY_ITEM, isPasswordPath, parseDataKeyRecord, type DataKeyRecord, type PasswordEnvelope } from './password-envelope';
import { PARSED_ONCE } from '../config/parse-once';
import { compareEntryKeys } from '../code-unit-order';
import {
  LEGACY_MANIFEST_FORMAT,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  legacyManifestSchema,
  manifestSchema,
  serializeManifest,
  type CeremonyLogHead,
  type GenerationRecord,
  type Manifest,
  type ManifestItem,
  type RootKeyPin, type TufRootKeyGeneration,
} from './manifest';

/** Append-only log of root-key signatures; kept outside the manifest because it only grows. */
export const CEREMONY_LOG_FILE = 'ceremony.jsonl';

/** `StateSnapshot.loadedFrom` of a state that had no manifest. */
export const ABSENT_STATE = 'absent';
const ABSENT = ABSENT_STATE;

/** How long a read retries while another run swaps the state directory (two renames, milliseconds apart). */
const SWAP_SETTLE_MS = 2_000;

export interface NewItem {
  readonly mintedAt: Date;
  readonly signedBy?: string;
  /** Files by role; each path relative to the state directory. */
  readonly files: Readonly<Record<string, { readonly path: string; readonly content: string | Buffer }>>;
}

/** The roots whose signing keys the manifest pins. */
export type PinnedRoot = keyof Manifest['rootKeys'];

/** How `StateStore.load` treats a state in the legacy format (v1, no pinned root keys). */
export interface LoadOptions {
  /** `refuse` (every command but `state upgrade`) or `accept` (the upgrade reads it). @default refuse */
  readonly legacyFormat?: 'refuse' | 'accept';
}

/**
 * The state of one environment, in memory: what the manifest lists and the bytes of every file.
 * Minting adds items, which are never replaced or removed. The one exception is explicit:
 * `supersedeItem` replaces an item that is meant to change (the TUF `timestamp.json`), and says so.
 * Root key pins are set once and never changed; the published marker is set once.
 */
export class StateSnapshot {
  private readonly added = new Set<string>();
  private readonly superseded = new Set<string>();
  private metadataChanged = false;
  private legacy: boolean;
  private replacementCeremonyLog?: Buffer;
  /** The data key's envelope, once a command that needs passwords opened it (lib/custody/state-keyring.ts). */
  private envelope?: PasswordEnvelope;
  /** Passwords opened (or minted) in this run, by path: memory only, never written. */
  private readonly openedPasswords = new Map<string, Buffer>();

  constructor(
    readonly env: string,
    private readonly manifest: Manifest,
    private readonly contents: Map<string, Buffer>,
    options: {
      /** The ceremony log as loaded (read at the start of the run), for the checks. */
      readonly ceremonyLog?: Buffer;
      /** Loaded from a legacy (v1) manifest: committed only after `upgradeFormat`. */
      readonly legacyFormat?: boolean;
      /**
       * SHA-256 of the manifest file this snapshot was loaded from (`absent` for a state that did not
       * exist): a commit refuses to replace a state whose manifest is no longer this one.
       * @default absent
       */
      readonly loadedFrom?: string;
    } = {},
  ) {
    this.loadedCeremonyLog = options.ceremonyLog;
    this.legacy = options.legacyFormat ?? false;
    this.loadedFrom = options.loadedFrom ?? ABSENT;
  }

  /** The ceremony log's bytes when the state was loaded (undefined when there was none). */
  readonly loadedCeremonyLog: Buffer | undefined;

  /**
   * SHA-256 of the manifest file this snapshot was loaded from (`absent` for a state that did not
   * exist): a commit refuses to replace a state whose manifest is no longer this one.
   */
  readonly loadedFrom: string;

  static empty(env: string, ceremonyLog?: Buffer): StateSnapshot {
    return new StateSnapshot(env, { format: MANIFEST_FORMAT, env, items: {}, files: {}, rootKeys: {} }, new Map(), { ceremonyLog });
  }

  /** True when the snapshot has items, pins or markers that are not on disk yet. */
  get changed(): boolean {
    return this.added.size > 0 || this.superseded.size > 0 || this.metadataChanged;
  }

  /** True for a state read from a legacy (v1) manifest that has not been upgraded. */
  get legacyFormat(): boolean {
    return this.legacy;
  }

  /** The pinned key of a root, if it has been minted. */
  rootKeyPin(root: PinnedRoot): RootKeyPin | undefined {
    return this.manifest.rootKeys[root];
  }

  /** Pins a root's signing key; done once, when the root is minted. A different pin for a pinned root is refused. */
  pinRootKey(root: PinnedRoot, pin: RootKeyPin): void {
    const existing = this.manifest.rootKeys[root];
    if (existing) {
      if (existing.keyRef === pin.keyRef && existing.spkiSha256 === pin.spkiSha256) return;
      throw new StateError(
        'STATE_ROOT_KEY_MISMATCH',
        `the ${root} root key is pinned to ${existing.keyRef} (SPKI SHA-256 ${existing.spkiSha256}); refusing to pin ${pin.keyRef} (${pin.spkiSha256}) in its place`,
      );
    }
    this.manifest.rootKeys[root] = { ...pin };
    this.metadataChanged = true;
  }

  /** The generations after the first of a rotated item, ascending (empty before its first rotation). */
  generationRecords(item: string): readonly GenerationRecord[] {
    return this.manifest.generations?.[item] ?? [];
  }

  /** Records the next generation of an item (its state item added with `addItem`). Generations are never removed. */
  addGeneration(item: string, record: GenerationRecord): void {
    const existing = this.generationRecords(item);
    const expected = (existing.at(-1)?.generation ?? 1) + 1;
    if (record.generation !== expected) throw new Error(`generation ${record.generation} of ${item}: expected ${expected}`);
    if (!this.manifest.items[record.itemId]) throw new Error(`generation ${record.generation} of ${item}: add state item "${record.itemId}" first`);
    this.manifest.generations = { ...this.manifest.generations, [item]: [...existing, { ...record }] };
    this.metadataChanged = true;
  }

  /**
   * The generations of the TUF root keys, oldest first: as recorded, or (before any rotation) the one
   * implied by `rootKeys.tuf`: that key alone, threshold 1, from version 1. Empty without a TUF root pin.
   */
  tufRootKeyGenerations(): TufRootKeyGeneration[] {
    const recorded = this.manifest.tufRootKeyGenerations;
    if (recorded) return recorded.map((generation) => ({ ...generation, keys: generation.keys.map((key) => ({ ...key })) }));
    const pin = this.manifest.rootKeys.tuf;
    return pin ? [{ generation: 1, firstVersion: 1, threshold: 1, keys: [{ ...pin }] }] : [];
  }

  /**
   * Records the next generation of TUF root keys (a rotation, or generation 1 of a bootstrap with
   * several keys). It must be the next number and start after the previous generation's first version;
   * recorded generations are never changed.
   */
  addTufRootKeyGeneration(generation: TufRootKeyGeneration): void {
    // Generation 1 of a bootstrap with several keys replaces the implied one (rootKeys.tuf alone), whose key it starts with.
    const pin = this.manifest.rootKeys.tuf;
    const firstOfBootstrap = !this.manifest.tufRootKeyGenerations && generation.generation === 1 && pin !== undefined && generation.keys[0]?.spkiSha256 === pin.spkiSha256;
    const existing = firstOfBootstrap ? [] : this.tufRootKeyGenerations();
    const last = existing[existing.length - 1];
    const expected = (last?.generation ?? 0) + 1;
    if (generation.generation !== expected || (last && generation.firstVersion <= last.firstVersion)) {
      throw new Error(`addTufRootKeyGeneration: expected generation ${expected} from a version after ${last?.firstVersion ?? 0}, got generation ${generation.generation} from v${generation.firstVersion}`);
    }
    this.manifest.tufRootKeyGenerations = [...existing, { ...generation, keys: generation.keys.map((key) => ({ ...key })) }];
    this.metadataChanged = true;
  }

  /** When the state was first complete and its trust material published; undefined before. */
  get publishedAt(): string | undefined {
    return this.manifest.publishedAt;
  }

  /** Records that the trust material is published (the commit that first makes the state complete). Set once. */
  markPublished(at: Date): void {
    if (this.manifest.publishedAt) return;
    this.manifest.publishedAt = at.toISOString();
    this.metadataChanged = true;
  }

  /** The ceremony log head recorded at the last commit. */
  get ceremonyLogHead(): CeremonyLogHead | undefined {
    return this.manifest.ceremonyLog;
  }

  /**
   * Turns a legacy (v1) snapshot into the current format: `state upgrade` has checked and pinned the
   * roots, and hands over the new ceremony log (the old one is kept as an item of the state).
   */
  upgradeFormat(ceremonyLog: Buffer): void {
    if (!this.legacy) throw new Error('upgradeFormat: the state is in the current format already');
    this.legacy = false;
    this.replacementCeremonyLog = ceremonyLog;
    this.metadataChanged = true;
  }

  /** Ids of the items added since loading, in order. */
  get addedItems(): string[] {
    return [...this.added];
  }

  /** Ids of the items superseded since loading, in order. */
  get supersededItems(): string[] {
    return [...this.superseded];
  }

  get itemIds(): string[] {
    return Object.keys(this.manifest.items).sort();
  }

  item(id: string): ManifestItem | undefined {
    return this.manifest.items[id];
  }

  /** The bytes of one file of an item, by role. Throws if the item or role is unknown. */
  file(id: string, role: string): Buffer {
    const path = this.manifest.items[id]?.files[role];
    const content = path === undefined ? undefined : this.contents.get(path);
    if (path === undefined || content === undefined) {
      throw new StateError('STATE_INCOMPLETE', `state item "${id}" has no ${role} file`);
    }
    if (this.passwordsSealed && isPasswordPath(path)) return this.openPassword(id, path, content);
    return content;
  }

  /**
   * True when the state's passwords are sealed under a KMS data key (the state has `kms/data-key.json`,
   * lib/state/password-envelope.ts): `file()` of a password then opens it with the attached envelope.
   */
  get passwordsSealed(): boolean {
    return DATA_KEY_ITEM.files.dataKey in this.manifest.files;
  }

  /** True when an envelope is attached: sealed passwords can be read (and new ones are sealed). */
  get passwordsOpen(): boolean {
    return this.envelope !== undefined;
  }

  /** The record of the state's data key (undefined when the passwords are not sealed). */
  dataKeyRecord(): DataKeyRecord | undefined {
    const bytes = this.contents.get(DATA_KEY_ITEM.files.dataKey);
    return this.passwordsSealed && bytes ? parseDataKeyRecord(bytes) : undefined;
  }

  /** The password files of the state, by path, with the item each belongs to. */
  passwordFiles(): { itemId: string; path: string }[] {
    return Object.entries(this.manifest.items).flatMap(([itemId, item]) =>
      Object.values(item.files)
        .filter(isPasswordPath)
        .map((path) => ({ itemId, path })),
    );
  }

  /** The bytes of a state file as stored (a sealed password stays sealed). */
  storedFile(path: string): Buffer | undefined {
    return this.contents.get(path);
  }

  /**
   * Attaches the opened data key: sealed passwords can be read, and passwords minted from now on are
   * stored sealed. Only for a state whose passwords are sealed (or about to be: see sealPasswords).
   */
  attachEnvelope(envelope: PasswordEnvelope): void {
    if (!this.passwordsSealed) throw new Error('attachEnvelope: the state has no data key; add it first (sealPasswords)');
    this.envelope = envelope;
  }

  /**
   * Seals every plaintext password of the state under a new data key: adds the data key item, then
   * replaces each `*.password` file with its sealed form (bound to its item and path) and checks that
   * it opens back. What `state upgrade` does to an otc-kms state with plaintext password files, and
   * what bootstrap does before minting into an empty one. Returns the paths sealed.
   */
  sealPasswords(record: { mintedAt: Date; content: string }, envelope: PasswordEnvelope): string[] {
    if (this.passwordsSealed) throw new Error('sealPasswords: the passwords are sealed already');
    const files = this.passwordFiles();
    this.addItem(DATA_KEY_ITEM.id, { mintedAt: record.mintedAt, files: { dataKey: { path: DATA_KEY_ITEM.files.dataKey, content: record.content } } });
    this.envelope = envelope;
    for (const { itemId, path } of files) {
      const plaintext = this.contents.get(path)!;
      const sealed = envelope.seal(plaintext, { env: this.env, itemId, path });
      if (!envelope.open(sealed, { env: this.env, itemId, path }).equals(plaintext)) throw new Error(`sealing ${path} did not round-trip`);
      this.contents.set(path, sealed);
      this.manifest.files[path] = sha256(sealed);
      this.openedPasswords.set(path, plaintext);
    }
    if (files.length > 0) this.metadataChanged = true;
    return files.map((file) => file.path);
  }

  private openPassword(itemId: string, path: string, stored: Buffer): Buffer {
    const opened = this.openedPasswords.get(path);
    if (opened) return opened;
    if (!this.envelope) {
      throw new Error(
        `${path} is sealed under the state's KMS data key and this command did not open it (only commands that render or use keys decrypt-datakey); this is a bug`,
      );
    }
    const plaintext = this.envelope.open(stored, { env: this.env, itemId, path });
    // An opened password is a secret of this process: never in a message (lib/redaction.ts).
    registerSecret(plaintext.toString('utf8'));
    this.openedPasswords.set(path, plaintext);
    return plaintext;
  }

  addItem(id: string, item: NewItem): void {
    if (this.manifest.items[id]) throw new Error(`state item "${id}" exists already; items are never replaced`);
    this.putItem(id, item);
    this.added.add(id);
  }

  /**
   * Replaces an existing item: its old files leave the state, the new ones (which may reuse the old
   * paths) are hashed into the manifest. Only for items whose nature is to change, such as the TUF
   * timestamp; everything else is added once with `addItem`.
   */
  supersedeItem(id: string, item: NewItem): void {
    const previous = this.manifest.items[id];
    if (!previous) throw new Error(`state item "${id}" does not exist; add it before superseding it`);
    const stillUsed = new Set(
      Object.entries(this.manifest.items)
        .filter(([other]) => other !== id)
        .flatMap(([, other]) => Object.values(other.files)),
    );
    const freed = Object.values(previous.files).filter((path) => !stillUsed.has(path));
    for (const { path } of Object.values(item.files)) {
      if (this.contents.has(path) && !freed.includes(path)) throw new Error(`state file ${path} belongs to another item`);
    }
    for (const path of freed) {
      this.contents.delete(path);
      this.openedPasswords.delete(path);
      delete this.manifest.files[path];
    }
    delete this.manifest.items[id];
    this.putItem(id, item);
    if (!this.added.has(id)) this.superseded.add(id);
  }

  private putItem(id: string, item: NewItem): void {
    for (const { path } of Object.values(item.files)) {
      if (this.contents.has(path)) throw new Error(`state file ${path} exists already`);
    }
    const files: Record<string, string> = {};
    for (const [role, { path, content }] of Object.entries(item.files)) {
      let bytes: Buffer = Buffer.from(content);
      if (this.passwordsSealed && isPasswordPath(path)) {
        // Never stored in plaintext: sealed under the data key, kept opened in memory for this run.
        if (!this.envelope) throw new Error(`${path}: a password minted into a sealed state needs the opened data key; this is a bug`);
        this.openedPasswords.set(path, bytes);
        bytes = this.envelope.seal(bytes, { env: this.env, itemId: id, path });
      }
      this.contents.set(path, bytes);
      this.manifest.files[path] = sha256(bytes);
      files[role] = path;
    }
    this.manifest.items[id] = {
      mintedAt: item.mintedAt.toISOString(),
      ...(item.signedBy ? { signedBy: item.signedBy } : {}),
      files,
    };
  }

  /** @internal what commit writes; `ceremonyLog` is the log the commit vouches for (its head goes into the manifest). */
  entries(ceremonyLog: Buffer | undefined): { manifest: string; files: [string, Buffer][] } {
    if (this.legacy) throw new Error(`state for "${this.env}" is in the legacy format: upgrade it before committing`);
    const head = ceremonyLog ? ceremonyLogHeadOf(ceremonyLog) : undefined;
    const manifest: Manifest = { ...this.manifest, ...(head ? { ceremonyLog: head } : {}) };
    return { manifest: serializeManifest(manifest), files: [...this.contents.entries()].sort(compareEntryKeys) };
  }

  /** @internal the ceremony log that replaces the one on disk (only after `upgradeFormat`). */
  get ceremonyLogReplacement(): Buffer | undefined {
    return this.replacementCeremonyLog;
  }
}

export interface StateStoreOptions {
  /** Directory that holds every environment's state. @default .sigstore */
  readonly root?: string;
  readonly env: string;
  /** How the lock waits and when it is stale (lib/state/lock.ts). @default - wait 30 s, stale after 15 s */
  readonly lock?: LockOptions;
}

/**
 * `.sigstore/<env>/`: directories 0700, files 0600. Loading verifies every file against the manifest
 * and needs no lock and no write access; committing replaces the whole directory atomically, under
 * the lock (`<root>/<env>.lock`), and only over the state it was loaded from. A symbolic link on the
 * way (the root or the environment's directory) is written through: the swap happens beside the
 * link's target and the link stays. File system failures are typed errors (lib/fs-errors.ts).
 */
/**
 * The state locks held by the `withLock` calls the current async call chain runs in, by store. One
 * AsyncLocalStorage for all stores, not one per store: Node 20 keeps every AsyncLocalStorage that ever
 * ran in one list for good and visits each of them for every promise the process creates
 * (lib/async_hooks.js, storageHook), so a process that used many stores (a test worker: hundreds)
 * got slower at every await with each one.
 */
const heldLocks = new AsyncLocalStorage<ReadonlyMap<StateStore, HeldLock>>();

export class StateStore {
  readonly root: string;
  readonly env: string;
  readonly directory: string;
  private readonly lockPath: string;
  private readonly lockOptions: LockOptions;

  constructor(options: StateStoreOptions) {
    this.root = options.root ?? '.sigstore';
    this.env = options.env;
    this.directory = join(this.root, this.env);
    this.lockPath = join(this.root, `${this.env}.lock`);
    this.lockOptions = options.lock ?? {};
  }

  /**
   * Reads and verifies the state. A missing directory is an empty state; anything inconsistent throws.
   * Takes no lock: a read that overlaps another run's commit (a directory swap) is retried until it
   * sees one state, the old or the new, as a whole. A state in the legacy format (v1) is refused with
   * a pointer to `state upgrade`, unless `legacyFormat: 'accept'`.
   */
  async load(options: LoadOptions = {}): Promise<StateSnapshot> {
    return withFileSystemErrors(this.context('read the state'), async () => {
      const deadline = Date.now() + SWAP_SETTLE_MS;
      for (;;) {
        const before = await directoryIdentity(this.directory);
        // The reads are synchronous (one call each, no thread pool round trip); a turn of the event
        // loop on either side of them keeps a load from starving what else runs in this process
        // (another store's commit, a lock's refresh), as the asynchronous reads did.
        await nextTurn();
        const attempt = await this.loadOnce(options).then(
          (snapshot) => ({ snapshot }),
          (error: unknown) => ({ error }),
        );
        await nextTurn();
        const after = await directoryIdentity(this.directory);
        const interrupted = 'error' in attempt && (attempt.error as StateError).code === 'STATE_INTERRUPTED';
        // Under the lock no other run commits: what was read is what there is.
        const settled = this.heldLock() !== undefined || (before === after && !interrupted);
        if (settled || Date.now() >= deadline) {
          if ('error' in attempt) throw attempt.error;
          return attempt.snapshot;
        }
        await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 20));
      }
    });
  }

  private async loadOnce(options: LoadOptions): Promise<StateSnapshot> {
    let names: string[];
    try {
      names = await listFiles(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const real = await this.realDirectory();
      const leftover = await findInterruptedReplace(real);
      if (leftover) {
        // Restore to the real directory: `mv` onto a dangling link would replace the link.
        const into = resolve(real) === resolve(this.directory) ? this.directory : real;
        throw new StateError(
          'STATE_INTERRUPTED',
          `${this.directory} is missing but ${leftover} exists: a run stopped while replacing the state. ` +
            `Check it, then restore it with: mv ${leftover} ${into}`,
        );
      }
      return StateSnapshot.empty(this.env);
    }
    const stored = names.filter((name) => name !== MANIFEST_FILE && name !== CEREMONY_LOG_FILE);
    const ceremonyLog = names.includes(CEREMONY_LOG_FILE) ? readFileSync(join(this.directory, CEREMONY_LOG_FILE)) : undefined;
    if (!names.includes(MANIFEST_FILE)) {
      if (stored.length === 0) return StateSnapshot.empty(this.env, ceremonyLog);
      throw new StateError(
        'STATE_CORRUPT',
        `${this.directory} has files but no ${MANIFEST_FILE} (${stored.slice(0, 5).join(', ')}${stored.length > 5 ? ', …' : ''}); ` +
          'it was not written by sigstore-cdk or was damaged. Move it aside; nothing was changed.',
      );
    }
    const { manifest, legacyFormat, digest } = await this.readManifest();
    if (legacyFormat && options.legacyFormat !== 'accept') {
      throw new StateError(
        'STATE_FORMAT_OUTDATED',
        `state ${this.directory} was written by an older sigstore-cdk (${LEGACY_MANIFEST_FORMAT}: root keys not pinned, ceremony log not hash-chained); ` +
          `nothing was changed. Run "sigstore-cdk state upgrade --env ${this.env}": it checks each root against its signer's key ` +
          '(KMS get-publickey, or the local key file) and pins it; nothing is re-minted',
      );
    }
    const problems: string[] = [];
    if (manifest.env !== this.env) problems.push(`manifest is for environment "${manifest.env}", not "${this.env}"`);
    for (const [id, item] of Object.entries(manifest.items)) {
      for (const [role, path] of Object.entries(item.files)) {
        if (!(path in manifest.files)) problems.push(`item "${id}" names ${role} file ${path}, which the manifest does not hash`);
      }
    }
    const contents = new Map<string, Buffer>();
    // Read synchronously, one file after another: a state is a few dozen small files, and each
    // asynchronous read and stat was a round trip through libuv's thread pool (the warm synth's
    // event loop waited on over a hundred of them).
    for (const [path, expected] of Object.entries(manifest.files)) {
      const full = join(this.directory, path);
      let bytes: Buffer;
      let mode: number;
      try {
        bytes = readFileSync(full);
        mode = statSync(full).mode & 0o777;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          problems.push(`${path} is listed in the manifest but missing`);
          continue;
        }
        throw error;
      }
      if (sha256(bytes) !== expected) problems.push(`${path} does not match its SHA-256 in the manifest (edited or damaged)`);
      // Private: no access for group or others (0600, or 0400 for a state made read-only).
      if ((mode & 0o077) !== 0) problems.push(`${path} has mode ${mode.toString(8).padStart(4, '0')}; expected 0600 (chmod 600 ${full})`);
      contents.set(path, bytes);
    }
    for (const name of stored) {
      if (!(name in manifest.files)) problems.push(`${name} is not recorded in the manifest (left by another tool or an interrupted run?)`);
    }
    const directoryMode = statSync(this.directory).mode & 0o777;
    if ((directoryMode & 0o077) !== 0) {
      problems.push(`the directory has mode ${directoryMode.toString(8).padStart(4, '0')}; expected 0700 (chmod 700 ${this.directory})`);
    }
    if (problems.length > 0) {
      throw new StateError(
        'STATE_CORRUPT',
        `state ${this.directory} is inconsistent; nothing was changed:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`,
      );
    }
    return new StateSnapshot(this.env, manifest, contents, { ceremonyLog, legacyFormat, loadedFrom: digest });
  }

  /**
   * Writes the snapshot if it changed: a complete new directory replaces the old one, so an
   * interrupted run leaves the previous state intact. Returns whether anything was written.
   * Holds the lock for the swap (taking it if the caller does not hold it), and refuses with
   * STATE_CONFLICT when the state on disk is no longer the one the snapshot was loaded from, and with
   * STATE_LOCK_LOST when another run took the lock over: a run never writes over another's state.
   */
  async commit(snapshot: StateSnapshot): Promise<boolean> {
    if (!snapshot.changed) return false;
    const held = this.heldLock();
    if (!held) return this.withLock(() => this.commit(snapshot));
    const target = await this.realDirectory();
    await withFileSystemErrors(this.context('write the state'), async () => {
      // The ceremony log is appended in place during the run; carry it over unchanged (under the lock
      // nothing appends while the commit runs), and record its head in the manifest.
      const log = snapshot.ceremonyLogReplacement ?? (await readOptional(join(target, CEREMONY_LOG_FILE)));
      const { manifest, files } = snapshot.entries(log);
      await replaceDirectory(target, async (staging) => {
        // Every file durable before the manifest is written; the directory becomes visible only by the swap.
        await writeNewFiles([...[...files].map(([path, content]) => [join(staging, path), content] as const), ...(log ? [[join(staging, CEREMONY_LOG_FILE), log] as const] : [])], PRIVATE_FILE_MODE);
        await writeNewFiles([[join(staging, MANIFEST_FILE), manifest]], PRIVATE_FILE_MODE);
        await chmodTree(staging);
        // Last checks before the swap: still this run's lock, and still the state it started from.
        await held.assertHeld();
        const current = await readOptional(join(target, MANIFEST_FILE));
        if ((current ? sha256(current) : ABSENT) !== snapshot.loadedFrom) {
          throw new StateError(
            'STATE_CONFLICT',
            `state ${this.directory} was changed by another run after this run read it; nothing was written, the other run's state stays. ` +
              'Run the command again: it starts from the new state',
          );
        }
      });
    });
    return true;
  }

  /**
   * Every file of the state as bytes (the manifest and the ceremony log included), by path relative
   * to the environment's directory, after `load` verified them; empty for a state that does not exist.
   * What the remote store pushes and an export archives: the working copy byte for byte.
   */
  async readFiles(): Promise<{ files: Map<string, Buffer>; loadedFrom: string }> {
    const snapshot = await this.load();
    if (snapshot.loadedFrom === ABSENT) {
      const ceremonyLog = snapshot.loadedCeremonyLog;
      return { files: new Map(ceremonyLog ? [[CEREMONY_LOG_FILE, ceremonyLog]] : []), loadedFrom: ABSENT };
    }
    return withFileSystemErrors(this.context('read the state'), async () => {
      const files = new Map<string, Buffer>();
      for (const name of await listFiles(this.directory)) files.set(name, await fs.readFile(join(this.directory, name)));
      const manifest = files.get(MANIFEST_FILE);
      if (!manifest || sha256(manifest) !== snapshot.loadedFrom) {
        throw new StateError('STATE_CONFLICT', `state ${this.directory} was changed by another run while it was read; run the command again`);
      }
      return { files, loadedFrom: snapshot.loadedFrom };
    });
  }

  /**
   * Replaces the whole state with `files` (paths relative to the environment's directory, the manifest
   * and the ceremony log included), as a commit does: atomically, under the lock, and only over the
   * state whose manifest digest is `expectedLoadedFrom` (`absent` for none), else STATE_CONFLICT.
   * The caller has verified `files` (a pull, an import).
   */
  async replaceFiles(files: ReadonlyMap<string, Buffer>, expectedLoadedFrom: string): Promise<void> {
    const held = this.heldLock();
    if (!held) return this.withLock(() => this.replaceFiles(files, expectedLoadedFrom));
    const target = await this.realDirectory();
    await withFileSystemErrors(this.context('write the state'), async () => {
      await replaceDirectory(target, async (staging) => {
        for (const [path, content] of [...files.entries()].sort(compareEntryKeys)) {
          await fs.mkdir(dirname(join(staging, path)), { recursive: true, mode: PRIVATE_DIR_MODE });
          await writeNewFile(join(staging, path), content, PRIVATE_FILE_MODE);
        }
        await chmodTree(staging);
        await held.assertHeld();
        const current = await readOptional(join(target, MANIFEST_FILE));
        if ((current ? sha256(current) : ABSENT) !== expectedLoadedFrom) {
          throw new StateError(
            'STATE_CONFLICT',
            `state ${this.directory} was changed by another run after this run read it; nothing was written, the other run's state stays. Run the command again`,
          );
        }
      });
    });
  }

  /** The ceremony log as it is on disk now (undefined when there is none). */
  async readCeremonyLog(): Promise<Buffer | undefined> {
    // Synchronously: read before each of a ceremony's appends, where nothing else runs meanwhile.
    try {
      return readFileSync(join(this.directory, CEREMONY_LOG_FILE));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /**
   * Appends one line (a JSON record, without the newline) to the ceremony log, durably, before the
   * operation it records is used. Lives in the state directory but outside the manifest: it only ever
   * grows; the manifest records its head at each commit.
   */
  async appendCeremonyLog(line: string): Promise<void> {
    if (line.includes('\n')) throw new Error('a ceremony log record is one line');
    await withFileSystemErrors(this.context('append to the ceremony log in'), async () => {
      const directory = await this.realDirectory();
      // Synchronously (open, write, fsync, close): the signature waits for this record anyway, and
      // each asynchronous step was a round trip through libuv's thread pool.
      mkdirSync(directory, { recursive: true, mode: PRIVATE_DIR_MODE });
      const descriptor = openSync(join(directory, CEREMONY_LOG_FILE), 'a', PRIVATE_FILE_MODE);
      try {
        const bytes = Buffer.from(`${line}\n`);
        for (let written = 0; written < bytes.length; ) written += writeSync(descriptor, bytes, written, bytes.length - written);
        fsyncSync(descriptor);
      } finally {
        closeSync(descriptor);
      }
    });
  }

  /**
   * Runs `work` holding the environment's lock. A run that finds the lock held waits for it (up to
   * `lock.waitMs`), takes over a stale one, and fails with STATE_LOCKED naming the holder otherwise.
   * Commands that only read call `load` and take no lock.
   */
  async withLock<T>(work: () => Promise<T>): Promise<T> {
    if (this.heldLock()) return work();
    const held = await withFileSystemErrors(this.context('lock the state'), async () => {
      await fs.mkdir(await resolveRealPath(this.root), { recursive: true, mode: PRIVATE_DIR_MODE });
      return acquireLock(this.lockPath, `state ${this.directory}`, this.lockOptions);
    });
    try {
      return await heldLocks.run(new Map(heldLocks.getStore()).set(this, held), async () => {
        await withFileSystemErrors(this.context('lock the state'), async () => removeStaleStaging(await this.realDirectory(), { keepPreviousTrees: true }));
        return work();
      });
    } finally {
      await held.release().catch(() => {}); // a lock left behind goes stale; the run's own outcome matters more
    }
  }

  /** The lock held by the `withLock` call of this store that this code runs in (per async call chain, so two concurrent calls do not share it). */
  private heldLock(): HeldLock | undefined {
    return heldLocks.getStore()?.get(this);
  }

  /** The environment's directory with every symbolic link resolved (it may not exist yet). */
  private realDirectory(): Promise<string> {
    return resolveRealPath(this.directory);
  }

  private context(operation: string): FileSystemContext {
    return { kind: 'state', operation, path: this.directory, argument: { option: '--state-dir', value: this.root } };
  }

  private async readManifest(): Promise<{ manifest: Manifest; legacyFormat: boolean; digest: string }> {
    const path = join(this.directory, MANIFEST_FILE);
    const bytes = readFileSync(path);
    const text = bytes.toString('utf8');
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new StateError('STATE_CORRUPT', `${path} is not JSON (${(error as Error).message}); nothing was changed`);
    }
    const legacyFormat = (data as { format?: unknown } | null)?.format === LEGACY_MANIFEST_FORMAT;
    const result = legacyFormat ? legacyManifestSchema.safeParse(data, PARSED_ONCE) : manifestSchema.safeParse(data, PARSED_ONCE);
    if (!result.success) {
      const details = result.error.issues.map((issue) => `  - ${issue.path.join('.') || '(top level)'}: ${issue.message}`).join('\n');
      const format = legacyFormat ? LEGACY_MANIFEST_FORMAT : MANIFEST_FORMAT;
      throw new StateError('STATE_CORRUPT', `${path} is not a sigstore-cdk state manifest (${format}); nothing was changed:\n${details}`);
    }
    // A legacy manifest is read into the current shape, without pins: only `state upgrade` sees it.
    const manifest: Manifest = 'rootKeys' in result.data ? result.data : { ...result.data, format: MANIFEST_FORMAT, rootKeys: {} };
    return { manifest, legacyFormat, digest: sha256(bytes) };
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function listFiles(directory: string): Promise<string[]> {
  // Synchronous, as the reads of loadOnce: each asynchronous call is a thread pool round trip.
  const entries = readdirSync(directory, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(directory, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}

async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function chmodTree(directory: string): Promise<void> {
  await fs.chmod(directory, PRIVATE_DIR_MODE);
  for (const entry of await fs.readdir(directory, { withFileTypes: true })) {
    if (entry.isDirectory()) await chmodTree(join(directory, entry.name));
  }
}

/** What identifies the directory at `path` now (a swap puts another directory there), or `absent`. */
async function directoryIdentity(path: string): Promise<string> {
  try {
    const stat = statSync(path);
    return `${stat.dev}:${stat.ino}:${stat.mtimeMs}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return ABSENT;
    throw error;
  }
}

