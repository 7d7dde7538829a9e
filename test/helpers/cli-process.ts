import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The repository root and the installed launcher (`bin/sigstore-cdk.js`). */
export const REPO_ROOT = join(__dirname, '..', '..');
export const LAUNCHER = join(REPO_ROOT, 'bin', 'sigstore-cdk.js');

export interface ProcessRun {
  /** Exit code, or null when the process was killed (see `signal`). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ProcessOptions {
  readonly cwd: string;
  /** Added to a minimal environment (PATH and HOME). */
  readonly env?: NodeJS.ProcessEnv;
  /** Killed (SIGKILL) after this long. @default 60 s */
  readonly timeoutMs?: number;
  /** Runs the process as this user and group (only when the test runs as root). @default - the test's own */
  readonly uid?: number;
  readonly gid?: number;
  /** Runs `command` through this wrapper (e.g. `['unshare', '-rm', 'sh', '-c', …]`). @default - directly */
  readonly wrapper?: readonly string[];
  /** Told the process's stderr so far, each time more arrives (to wait for a line while it runs). @default - nothing */
  readonly onStderr?: (stderr: string) => void;
}

/**
 * The variables that put a process under libfaketime (`faketime -f '+400d' npx jest …`), when the
 * test runs under it; else none. The minimal environments given to child processes keep them, so a
 * CLI, openssl or curl started by a test reads the same faked clock as the test: that is how the
 * suite is run at a future date to find tests that depend on the wall-clock year (see
 * test/fixtures/fixture-expiry.test.ts). Use a relative offset (`+400d`): with an absolute start
 * (`@2027-12-20 00:00:00`) every new process starts that clock again, behind its parent's.
 */
export function fakedClockEnvironment(): NodeJS.ProcessEnv {
  if (process.env.FAKETIME === undefined) return {};
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => name === 'LD_PRELOAD' || name.startsWith('FAKETIME')));
}

/**
 * The environment a test gives a child process: PATH, HOME and the faked clock (when the test runs
 * under one), then `extra`. Nothing else of the test's own: a developer's SIGSTORE_*, OS_* or GIT_*
 * variables, npm's npm_config_* (under `npm test`) or a NODE_EXTRA_CA_CERTS (which node reads at
 * every start: ~70 ms a process) never reach the program under test.
 */
export function childEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp', ...fakedClockEnvironment(), ...extra };
}

/** Runs any command as a child process, without blocking the event loop (so several can run at once). */
export function runProcess(command: string, args: readonly string[], options: ProcessOptions): Promise<ProcessRun> {
  const [file, ...rest] = options.wrapper ? [...options.wrapper, command, ...args] : [command, ...args];
  const child = spawn(file, rest, {
    cwd: options.cwd,
    env: childEnvironment(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid ?? options.uid }),
  });
  return collect(child, options.timeoutMs ?? 60_000, options.onStderr);
}

/** Runs the CLI (`node bin/sigstore-cdk.js …`) as a process. */
export function runCliProcess(args: readonly string[], options: ProcessOptions): Promise<ProcessRun> {
  return runProcess(process.execPath, [LAUNCHER, ...args], options);
}

function collect(child: ChildProcess, timeoutMs: number, onStderr?: (stderr: string) => void): Promise<ProcessRun> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    onStderr?.(stderr);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A pid that belonged to a process that has exited (so no process of this machine has it now, for a while). */
export function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

/**
 * Whether this machine lets an unprivileged user namespace mount file systems (`unshare -rm`):
 * then a read-only bind mount (EROFS) and a tiny tmpfs (ENOSPC) can be made without root.
 */
export function canMountInUserNamespace(): boolean {
  const probe = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=16k tmpfs "$0"', tmpdir()], { encoding: 'utf8' });
  return probe.status === 0;
}

/**
 * A wrapper (for `ProcessOptions.wrapper`) that runs the command with `directory` bind-mounted
 * read-only, in a private mount namespace: every write below it fails with EROFS, for root too.
 */
export function readOnlyMount(directory: string): string[] {
  return ['unshare', '-rm', 'sh', '-c', 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"', directory];
}

/** A wrapper that runs the command with a tmpfs of `size` (e.g. `96k`) mounted on `directory`. */
export function tinyFileSystem(directory: string, size: string): string[] {
  return ['unshare', '-rm', 'sh', '-c', `mount -t tmpfs -o size=${size},mode=0755 tmpfs "$0" && exec "$@"`, directory];
}

/** The uid/gid of `nobody`, to run a process as a user that chmod restricts (the tests may run as root). */
export const NOBODY = 65534;

/** True when this process runs as root (then chmod does not restrict it, and a child must run as another user). */
export function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}

/** A process that keeps running: wait for a line of its stdout, then kill it. */
export interface RunningProcess {
  readonly pid: number;
  /** Resolves once stdout contains `text`; rejects if the process exits first. */
  waitFor(text: string): Promise<void>;
  /** Kills it with SIGKILL and waits for it to be gone. */
  kill(): Promise<ProcessRun>;
}

/** Starts `hold-state-lock.ts`: a process holding the state lock of `env` under `stateRoot` (relative to cwd). */
export function holdStateLock(cwd: string, stateRoot: string, env: string): RunningProcess {
  const child = spawn(process.execPath, ['-r', require.resolve('tsx/cjs'), join(__dirname, 'hold-state-lock.ts'), stateRoot, env], {
    cwd,
    env: childEnvironment(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const done = collect(child, 120_000);
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  return {
    pid: child.pid!,
    waitFor: (text) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (stdout.includes(text)) {
            child.stdout?.off('data', check);
            resolve();
          }
        };
        child.stdout?.on('data', check);
        check();
        void done.then((run) => reject(new Error(`the lock holder exited before printing "${text}": ${run.stderr}`)));
      }),
    kill: () => {
      child.kill('SIGKILL');
      return done;
    },
  };
}
