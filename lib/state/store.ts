import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative, sep } from 'node:path';
import { StateError } from '../errors';
import {
  PRIVATE_DIR_MODE,
  PRIVATE_FILE_MODE,
  findInterruptedReplace,
  removeStaleStaging,
  replaceDirectory,
  writeNewFile,
} from './atomic';
import { MANIFEST_FILE, MANIFEST_FORMAT, manifestSchema, serializeManifest, type Manifest, type ManifestItem } from './manifest';

/** Append-only log of root-key signatures; kept outside the manifest because it only grows. */
export const CEREMONY_LOG_FILE = 'ceremony.jsonl';

export interface NewItem {
  readonly mintedAt: Date;
  readonly signedBy?: string;
  /** Files by role; each path relative to the state directory. */
  readonly files: Readonly<Record<string, { readonly path: string; readonly content: string | Buffer }>>;
}

/**
 * The state of one environment, in memory: what the manifest lists and the bytes of every file.
 * Minting adds items, which are never replaced or removed. The one exception is explicit:
 * `supersedeItem` replaces an item that is meant to change (the TUF `timestamp.json`), and says so.
 */
export class StateSnapshot {
  private readonly added = new Set<string>();
  private readonly superseded = new Set<string>();

  constructor(
    readonly env: string,
    private readonly manifest: Manifest,
    private readonly contents: Map<string, Buffer>,
  ) {}

  static empty(env: string): StateSnapshot {
    return new StateSnapshot(env, { format: MANIFEST_FORMAT, env, items: {}, files: {} }, new Map());
  }

  /** True when the snapshot has items that are not on disk yet. */
  get changed(): boolean {
    return this.added.size > 0 || this.superseded.size > 0;
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
    return content;
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
      const bytes = Buffer.from(content);
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

  /** @internal what commit writes */
  entries(): { manifest: string; files: [string, Buffer][] } {
    return { manifest: serializeManifest(this.manifest), files: [...this.contents.entries()].sort(([a], [b]) => a.localeCompare(b)) };
  }
}

export interface StateStoreOptions {
  /** Directory that holds every environment's state. @default .sigstore */
  readonly root?: string;
  readonly env: string;
}

/**
 * `.sigstore/<env>/`: directories 0700, files 0600. Loading verifies every file against the manifest;
 * committing replaces the whole directory atomically; a lock keeps two runs apart.
 */
export class StateStore {
  readonly root: string;
  readonly env: string;
  readonly directory: string;
  private readonly lockPath: string;

  constructor(options: StateStoreOptions) {
    this.root = options.root ?? '.sigstore';
    this.env = options.env;
    this.directory = join(this.root, this.env);
    this.lockPath = join(this.root, `${this.env}.lock`);
  }

  /** Reads and verifies the state. A missing directory is an empty state; anything inconsistent throws. */
  async load(): Promise<StateSnapshot> {
    let names: string[];
    try {
      names = await listFiles(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const leftover = await findInterruptedReplace(this.directory);
      if (leftover) {
        throw new StateError(
          'STATE_INTERRUPTED',
          `${this.directory} is missing but ${leftover} exists: a run stopped while replacing the state. ` +
            `Check it, then restore it with: mv ${leftover} ${this.directory}`,
        );
      }
      return StateSnapshot.empty(this.env);
    }
    const stored = names.filter((name) => name !== MANIFEST_FILE && name !== CEREMONY_LOG_FILE);
    if (!names.includes(MANIFEST_FILE)) {
      if (stored.length === 0) return StateSnapshot.empty(this.env);
      throw new StateError(
        'STATE_CORRUPT',
        `${this.directory} has files but no ${MANIFEST_FILE} (${stored.slice(0, 5).join(', ')}${stored.length > 5 ? ', …' : ''}); ` +
          'it was not written by sigstore-cdk or was damaged. Move it aside; nothing was changed.',
      );
    }
    const manifest = await this.readManifest();
    const problems: string[] = [];
    if (manifest.env !== this.env) problems.push(`manifest is for environment "${manifest.env}", not "${this.env}"`);
    for (const [id, item] of Object.entries(manifest.items)) {
      for (const [role, path] of Object.entries(item.files)) {
        if (!(path in manifest.files)) problems.push(`item "${id}" names ${role} file ${path}, which the manifest does not hash`);
      }
    }
    const contents = new Map<string, Buffer>();
    for (const [path, expected] of Object.entries(manifest.files)) {
      const full = join(this.directory, path);
      let bytes: Buffer;
      try {
        bytes = await fs.readFile(full);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          problems.push(`${path} is listed in the manifest but missing`);
          continue;
        }
        throw error;
      }
      if (sha256(bytes) !== expected) problems.push(`${path} does not match its SHA-256 in the manifest (edited or damaged)`);
      const mode = (await fs.stat(full)).mode & 0o777;
      if (mode !== PRIVATE_FILE_MODE) problems.push(`${path} has mode ${mode.toString(8).padStart(4, '0')}; expected 0600 (chmod 600 ${full})`);
      contents.set(path, bytes);
    }
    for (const name of stored) {
      if (!(name in manifest.files)) problems.push(`${name} is not recorded in the manifest (left by another tool or an interrupted run?)`);
    }
    const directoryMode = (await fs.stat(this.directory)).mode & 0o777;
    if (directoryMode !== PRIVATE_DIR_MODE) {
      problems.push(`the directory has mode ${directoryMode.toString(8).padStart(4, '0')}; expected 0700 (chmod 700 ${this.directory})`);
    }
    if (problems.length > 0) {
      throw new StateError(
        'STATE_CORRUPT',
        `state ${this.directory} is inconsistent; nothing was changed:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`,
      );
    }
    return new StateSnapshot(this.env, manifest, contents);
  }

  /**
   * Writes the snapshot if it changed: a complete new directory replaces the old one, so an
   * interrupted run leaves the previous state intact. Returns whether anything was written.
   */
  async commit(snapshot: StateSnapshot): Promise<boolean> {
    if (!snapshot.changed) return false;
    const { manifest, files } = snapshot.entries();
    await replaceDirectory(this.directory, async (staging) => {
      for (const [path, content] of files) await writeNewFile(join(staging, path), content, PRIVATE_FILE_MODE);
      // The ceremony log is appended in place during the run; carry it over unchanged.
      const log = await readOptional(join(this.directory, CEREMONY_LOG_FILE));
      if (log) await writeNewFile(join(staging, CEREMONY_LOG_FILE), log, PRIVATE_FILE_MODE);
      await writeNewFile(join(staging, MANIFEST_FILE), manifest, PRIVATE_FILE_MODE);
      await chmodTree(staging);
    });
    return true;
  }

  /**
   * Appends one JSON line to the ceremony log, durably, before the operation it records is used.
   * Lives in the state directory but outside the manifest: it only ever grows.
   */
  async appendCeremonyLog(record: object): Promise<void> {
    await fs.mkdir(this.directory, { recursive: true, mode: PRIVATE_DIR_MODE });
    const handle = await fs.open(join(this.directory, CEREMONY_LOG_FILE), 'a', PRIVATE_FILE_MODE);
    try {
      await handle.appendFile(`${JSON.stringify(record)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Runs `work` holding the environment's lock; a second run fails fast instead of racing. */
  async withLock<T>(work: () => Promise<T>): Promise<T> {
    await fs.mkdir(this.root, { recursive: true, mode: PRIVATE_DIR_MODE });
    await this.acquireLock();
    try {
      await removeStaleStaging(this.directory);
      return await work();
    } finally {
      await fs.rm(this.lockPath, { force: true });
    }
  }

  private async acquireLock(): Promise<void> {
    const owner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await fs.open(this.lockPath, 'wx', PRIVATE_FILE_MODE);
        await handle.writeFile(JSON.stringify(owner));
        await handle.close();
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await readLockOwner(this.lockPath);
      if (holder && holder.host === owner.host && !processAlive(holder.pid)) {
        await fs.rm(this.lockPath, { force: true }); // its process is gone: a stale lock
        continue;
      }
      throw new StateError(
        'STATE_LOCKED',
        `state ${this.directory} is locked by ${holder ? `pid ${holder.pid} on ${holder.host} since ${holder.since}` : 'another run'}; ` +
          `wait for it, or remove ${this.lockPath} if no run is active`,
      );
    }
    throw new StateError('STATE_LOCKED', `could not lock ${this.lockPath}`);
  }

  private async readManifest(): Promise<Manifest> {
    const path = join(this.directory, MANIFEST_FILE);
    const text = await fs.readFile(path, 'utf8');
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new StateError('STATE_CORRUPT', `${path} is not JSON (${(error as Error).message}); nothing was changed`);
    }
    const result = manifestSchema.safeParse(data);
    if (!result.success) {
      const details = result.error.issues.map((issue) => `  - ${issue.path.join('.') || '(top level)'}: ${issue.message}`).join('\n');
      throw new StateError('STATE_CORRUPT', `${path} is not a sigstore-cdk state manifest (${MANIFEST_FORMAT}); nothing was changed:\n${details}`);
    }
    return result.data;
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function listFiles(directory: string): Promise<string[]> {
  const entries = await fs.readdir(directory, { withFileTypes: true, recursive: true });
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

async function readLockOwner(path: string): Promise<{ pid: number; host: string; since: string } | undefined> {
  try {
    const owner = JSON.parse(await fs.readFile(path, 'utf8'));
    return typeof owner?.pid === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
