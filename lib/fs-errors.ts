import { constants, promises as fs } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { FileSystemError, SigstoreCdkError, StateError, type FileSystemErrorCode, type StateErrorCode } from './errors';

/** What a run was doing when a file system call failed; the message is built from it. */
export interface FileSystemContext {
  /**
   * Whose files: the state (a StateError, exit 3), an output directory (a FileSystemError, exit 2), or
   * not known (the CLI's last resort for an error no command mapped: exit 1).
   */
  readonly kind: 'state' | 'output' | 'unknown';
  /** What was being done, as a verb phrase: `lock the state`, `write the state`, `write the output`. */
  readonly operation: string;
  /** The directory the operation is about, as the operator named it (e.g. `.sigstore/dev`, `dist`). */
  readonly path: string;
  /**
   * The command-line option that names the directory (`--state-dir`, `--out`), with the value given:
   * a file at that path, or on the way to it, is a bad argument (exit 2). @default - not from an option
   */
  readonly argument?: { readonly option: string; readonly value: string };
}

/** An error from a `node:fs` call (it has an errno code such as `EROFS`). */
export function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && /^E[A-Z0-9]+$/.test((error as NodeJS.ErrnoException).code!);
}

type Kind = 'readOnly' | 'permission' | 'noSpace' | 'notDirectory' | 'nameTooLong' | 'io';

const REASONS: Readonly<Record<string, { kind: Kind; reason: string }>> = {
  EROFS: { kind: 'readOnly', reason: 'read-only file system' },
  EACCES: { kind: 'permission', reason: 'permission denied' },
  EPERM: { kind: 'permission', reason: 'operation not permitted' },
  ENOSPC: { kind: 'noSpace', reason: 'no space left on the device' },
  EDQUOT: { kind: 'noSpace', reason: 'disk quota exceeded' },
  ENOTDIR: { kind: 'notDirectory', reason: 'not a directory' },
  EEXIST: { kind: 'notDirectory', reason: 'a file is in the way' },
  EISDIR: { kind: 'io', reason: 'is a directory where a file was expected' },
  ENAMETOOLONG: { kind: 'nameTooLong', reason: 'file name too long' },
  ELOOP: { kind: 'io', reason: 'too many levels of symbolic links (a link loop?)' },
  EMFILE: { kind: 'io', reason: 'too many open files in this process' },
  ENFILE: { kind: 'io', reason: 'too many open files on this system' },
  EIO: { kind: 'io', reason: 'input/output error (the disk or the network file system failed)' },
  EXDEV: { kind: 'io', reason: 'a rename crossed file systems' },
  EBUSY: { kind: 'io', reason: 'resource busy (a mount point, or a file another program holds)' },
  ENOENT: { kind: 'io', reason: 'no such file or directory' },
};

const STATE_CODES: Readonly<Record<Exclude<Kind, 'notDirectory' | 'nameTooLong'>, StateErrorCode>> = {
  readOnly: 'STATE_READ_ONLY',
  permission: 'STATE_PERMISSION_DENIED',
  noSpace: 'STATE_NO_SPACE',
  io: 'STATE_IO_ERROR',
};

const FS_CODES: Readonly<Record<Kind, FileSystemErrorCode>> = {
  readOnly: 'FS_READ_ONLY',
  permission: 'FS_PERMISSION_DENIED',
  notDirectory: 'FS_NOT_A_DIRECTORY',
  nameTooLong: 'FS_NAME_TOO_LONG',
  noSpace: 'FS_NO_SPACE',
  io: 'FS_IO_ERROR',
};

/** Exit codes outside the state: what the operator must change in the arguments is 2. */
function exitCodeFor(kind: Kind, context: FileSystemContext): number {
  if (kind === 'notDirectory' || kind === 'nameTooLong') return 2;
  if (context.kind === 'output' && (kind === 'readOnly' || kind === 'permission')) return 2;
  return 1;
}

/**
 * Turns a failed `node:fs` call into a typed error of one clear line: the operation, the path, the
 * reason with its errno, and what to do. Failures on the state are StateErrors (exit 3); a file given
 * where a directory belongs is a bad argument (FS_NOT_A_DIRECTORY, exit 2); output directories that
 * cannot be written are FileSystemErrors (exit 2). Anything that is not an errno error, or is already
 * typed, is returned unchanged.
 */
export function fileSystemError(error: unknown, context: FileSystemContext): unknown {
  if (error instanceof SigstoreCdkError || !isErrnoException(error)) return error;
  const errno = error.code!;
  const known = REASONS[errno] ?? { kind: 'io' as const, reason: error.message.replace(/^E[A-Z0-9]+: /, '').split(',')[0] };
  const at = error.path && resolve(error.path) !== resolve(context.path) ? ` at ${error.path}` : '';
  const message = `cannot ${context.operation} ${context.path}: ${known.reason} (${errno}${at}). ${adviceFor(known.kind, context, error.path)}`;
  const badArgument = (known.kind === 'notDirectory' && blocksArgument(error.path, context)) || known.kind === 'nameTooLong';
  if (context.kind === 'state' && !badArgument) {
    return new StateError(STATE_CODES[known.kind === 'notDirectory' || known.kind === 'nameTooLong' ? 'io' : known.kind], message, { cause: error });
  }
  return new FileSystemError(FS_CODES[known.kind], message, exitCodeFor(known.kind, context), { path: error.path ?? context.path, errno }, { cause: error });
}

function adviceFor(kind: Kind, context: FileSystemContext, blocker: string | undefined): string {
  const option = context.argument ? ` (${context.argument.option})` : '';
  if (kind === 'notDirectory') {
    const file = `${blocker ?? context.argument?.value ?? context.path} is a file, not a directory`;
    return blocksArgument(blocker, context) && context.argument
      ? `${file}: pass a directory as ${context.argument.option} (given: ${context.argument.value})`
      : `${file}: move it aside`;
  }
  if (kind === 'nameTooLong') return `The path is longer than this file system allows: use a shorter one${option}`;
  if (context.kind === 'state') {
    switch (kind) {
      case 'readOnly':
        return 'Commands that only read the state (verify, a synth with nothing to mint) work on a read-only state; run this one where the state is writable';
      case 'permission':
        return 'Run as the user that owns the state, or give this user access to it (keep it private: directories 0700, files 0600)';
      case 'noSpace':
        return 'Free space on that file system and run again; the previous state is intact (a commit replaces it as a whole or not at all)';
      case 'io':
        return 'Check the file system that holds the state and run again; the previous state is intact (a commit replaces it as a whole or not at all)';
    }
  }
  if (context.kind === 'unknown') {
    return kind === 'noSpace' ? 'Free space on that file system and run again' : 'Check the path and its permissions, then run again';
  }
  switch (kind) {
    case 'readOnly':
      return `Choose an output directory${option} on a writable file system`;
    case 'permission':
      return `Choose an output directory${option} this user can write, or give it write access`;
    case 'noSpace':
      return 'Free space on that file system and run again; the previous output is intact (it is replaced as a whole)';
    case 'io':
      return 'Check that file system and run again; the previous output is intact (it is replaced as a whole)';
  }
}

/** Whether the file at `blocker` is the directory an option names, or on the way to it (then the argument is bad). */
function blocksArgument(blocker: string | undefined, context: FileSystemContext): boolean {
  if (!context.argument) return false;
  if (blocker === undefined) return true;
  const argument = resolve(context.argument.value);
  const file = resolve(blocker);
  return argument === file || argument.startsWith(`${file}${sep}`);
}

/**
 * Like `fileSystemError`, after looking closer at a misleading ENOENT: `mkdir -p` below a read-only or
 * unwritable directory reports the first missing component as "no such file or directory". The
 * nearest existing ancestor then says what is really wrong (read-only, no permission, or a file).
 */
export async function explainFileSystemError(error: unknown, context: FileSystemContext): Promise<unknown> {
  if (isErrnoException(error) && error.path) {
    let real: { code: string; path: string } | undefined;
    if (error.code === 'ENOENT' && error.syscall === 'mkdir') real = await probeAncestor(error.path);
    // ENOTDIR names the whole path; the file in the way is one of its ancestors.
    if (error.code === 'ENOTDIR') real = await fileOnTheWay(error.path);
    if (real) return fileSystemError(Object.assign(new Error(`${real.code}: ${error.message}`), { code: real.code, syscall: error.syscall, path: real.path }), context);
  }
  return fileSystemError(error, context);
}

/** Runs `work`, turning a file system failure into the typed error for `context`. */
export async function withFileSystemErrors<T>(context: FileSystemContext, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw await explainFileSystemError(error, context);
  }
}

/**
 * The last resort for a file system error no command mapped (the CLI's catch-all): one line naming
 * the call, the path and the errno; exit 1 (2 for a file where a directory belongs). Undefined for
 * anything that is not an errno error.
 */
export function unmappedFileSystemError(error: unknown): FileSystemError | undefined {
  const mapped = fileSystemError(error, { kind: 'unknown', operation: isErrnoException(error) ? (error.syscall ?? 'use') : 'use', path: (error as NodeJS.ErrnoException)?.path ?? '(no path)' });
  return mapped instanceof FileSystemError ? mapped : undefined;
}

/** The first existing component of `path` that is not a directory. */
async function fileOnTheWay(path: string): Promise<{ code: string; path: string } | undefined> {
  const absolute = resolve(path);
  const parts = absolute.split(sep).filter(Boolean);
  for (let index = 1; index <= parts.length; index++) {
    const prefix = `${sep}${parts.slice(0, index).join(sep)}`;
    const stat = await fs.stat(prefix).catch(() => undefined);
    if (!stat) return undefined;
    if (!stat.isDirectory()) return { code: 'ENOTDIR', path: relativeLike(path, prefix) };
  }
  return undefined;
}

/** `found` (absolute) written the way `given` was: relative when `given` was relative. */
function relativeLike(given: string, found: string): string {
  if (isAbsolute(given)) return found;
  const relativePath = relative(process.cwd(), found);
  return relativePath === '' ? '.' : relativePath;
}

/** The nearest existing ancestor of `path`, when it forbids creating something in it. */
async function probeAncestor(path: string): Promise<{ code: string; path: string } | undefined> {
  let current = resolve(path);
  for (;;) {
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
    try {
      const stat = await fs.stat(current);
      if (!stat.isDirectory()) return { code: 'ENOTDIR', path: relativeLike(path, current) };
      await fs.access(current, constants.W_OK | constants.X_OK);
      return undefined; // writable: the ENOENT is real (e.g. a dangling link)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM' || code === 'ENOTDIR') return { code, path: relativeLike(path, current) };
      return undefined;
    }
  }
}
