import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { runProcess, type ProcessRun } from './cli-process';

/*
 * A throwaway MariaDB server for the tests that run real database tools (the MySQL backup's
 * mysqldump, the README's restore with the mysql client): `mariadb-install-db` into a temp data
 * directory, then `mariadbd` as the current user on 127.0.0.1 (a free port) and a unix socket in that
 * directory. Ready when the server logs "ready for connections" (no fixed wait); stop() kills it and
 * removes the directory. The Debian packages mariadb-server-core and mariadb-client (Debian 12:
 * 10.11) provide the binaries; `.ci/run` installs them. Missing binaries fail the test, never skip it.
 */

/** The programs the tests need, and where Debian puts the server (sbin is not on a user's PATH). */
const CLIENT_PROGRAMS = ['mariadb-install-db', 'mysqldump', 'mysql'] as const;
const SERVER_DIRECTORIES = ['/usr/sbin', '/usr/libexec', '/usr/local/sbin'];
const READY = /ready for connections/;
const START_TIMEOUT_MS = 30_000;
/**
 * For install and server alike: a small buffer pool and redo log (4 MiB instead of 96), and no host
 * name lookups, so accounts match by address alone (127.0.0.1 is not also "localhost"), as in the
 * MySQL image. Measured here: the install 1.2 s -> 0.6 s, its data directory 113 MB -> 21 MB.
 */
const SMALL_AND_LOCAL = ['--innodb-buffer-pool-size=16M', '--innodb-log-file-size=4M', '--skip-name-resolve'];

export interface MariaDbServerOptions {
  /** Log every statement to `generalLogFile` (to assert what a client sent). @default false */
  readonly generalLog?: boolean;
}

export interface MariaDbServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly socket: string;
  /** The general query log, when `generalLog` was set. */
  readonly generalLogFile: string;
  /** Runs SQL as root over the socket (no password); tab-separated rows, no header. Throws on an error. */
  query(sql: string): Promise<string>;
  /** Runs the SQL file at `path` as root (the mysql client's SOURCE). */
  source(path: string): Promise<void>;
  stop(): Promise<void>;
}

/** Where a program is: on PATH, or (for the server) in the system directories. */
function findProgram(name: string, path: string, extraDirectories: readonly string[] = []): string | undefined {
  for (const directory of [...path.split(delimiter), ...extraDirectories]) {
    if (!directory) continue;
    const candidate = join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The MariaDB programs, or an error naming the missing ones and how to install them.
 * @param search where to look @default PATH, and for the server also /usr/sbin, /usr/libexec, /usr/local/sbin
 */
export function mariaDbPrograms(search: { path?: string; serverDirectories?: readonly string[] } = {}): { server: string } & Record<(typeof CLIENT_PROGRAMS)[number], string> {
  const path = search.path ?? process.env.PATH ?? '';
  const serverDirectories = search.serverDirectories ?? SERVER_DIRECTORIES;
  const found: Record<string, string | undefined> = { server: findProgram('mariadbd', path, serverDirectories) ?? findProgram('mysqld', path, serverDirectories) };
  for (const name of CLIENT_PROGRAMS) found[name] = findProgram(name, path);
  const missing = Object.entries(found)
    .filter(([, path]) => path === undefined)
    .map(([name]) => (name === 'server' ? 'mariadbd' : name));
  if (missing.length > 0) {
    throw new Error(
      `MariaDB is not installed (missing: ${missing.join(', ')}): .ci/run installs it (apt-get install mariadb-server-core mariadb-client); these tests never skip`,
    );
  }
  return found as { server: string } & Record<(typeof CLIENT_PROGRAMS)[number], string>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts a server in a new temp directory; the caller stops it (afterAll). */
export async function startMariaDb(options: MariaDbServerOptions = {}): Promise<MariaDbServer> {
  const programs = mariaDbPrograms();
  const directory = mkdtempSync(join(tmpdir(), 'mariadb-test-'));
  const datadir = join(directory, 'data');
  const socket = join(directory, 'mysqld.sock');
  const generalLogFile = join(directory, 'general.log');
  // Its own temp directory: two servers (or two install runs) sharing /tmp collide on temp tables.
  const tmp = join(directory, 'tmp');
  mkdirSync(tmp);
  // mariadbd refuses to run as root unless told to; as anyone else it runs as that user.
  const asUser = process.getuid?.() === 0 ? ['--user=root'] : [];
  try {
    // `normal` root authentication: root@localhost without a password over the socket, as the
    // test's administrator (unix_socket would tie it to the OS user root).
    await mustSucceed(
      runProcess(programs['mariadb-install-db'], ['--no-defaults', `--datadir=${datadir}`, `--tmpdir=${tmp}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...SMALL_AND_LOCAL, ...asUser], {
        cwd: directory,
        timeoutMs: START_TIMEOUT_MS,
      }),
      'mariadb-install-db',
    );
    // A port probed free can be taken before the server binds it: try again with another.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const child = spawn(
        programs.server,
        [
          '--no-defaults',
          ...asUser,
          `--datadir=${datadir}`,
          `--tmpdir=${tmp}`,
          `--socket=${socket}`,
          `--pid-file=${join(directory, 'mysqld.pid')}`,
          '--bind-address=127.0.0.1',
          `--port=${port}`,
          ...SMALL_AND_LOCAL,
          '--skip-log-bin',
          ...(options.generalLog ? ['--general-log=1', `--general-log-file=${generalLogFile}`] : []),
        ],
        { cwd: directory, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      const started = await waitUntilReady(child);
      if (started.ready) return server(child, port, socket, generalLogFile, directory, programs.mysql);
      if (attempt >= 3 || !/Bind on TCP\/IP port|Address already in use/.test(started.log)) {
        throw new Error(`mariadbd did not start:\n${started.log.slice(-3000)}`);
      }
    }
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}

/** Resolves when the server logs that it is ready, or when it exits or times out (then killed). */
function waitUntilReady(child: ChildProcess): Promise<{ ready: boolean; log: string }> {
  return new Promise((resolve) => {
    let log = '';
    const finish = (ready: boolean) => {
      clearTimeout(timer);
      child.stderr?.removeAllListeners('data');
      child.removeAllListeners('exit');
      // Keep reading stderr so the server never blocks on a full pipe.
      if (ready) child.stderr?.resume();
      resolve({ ready, log });
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      log += `\n(no "ready for connections" within ${START_TIMEOUT_MS} ms)`;
      finish(false);
    }, START_TIMEOUT_MS);
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8');
      if (READY.test(log)) finish(true);
    });
    child.on('exit', () => finish(false));
  });
}

function server(child: ChildProcess, port: number, socket: string, generalLogFile: string, directory: string, mysql: string): MariaDbServer {
  const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  return {
    host: '127.0.0.1',
    port,
    socket,
    generalLogFile,
    async query(sql: string): Promise<string> {
      const run = await mustSucceed(
        runProcess(mysql, ['--no-defaults', `--socket=${socket}`, '--user=root', '--batch', '--skip-column-names', '--execute', sql], { cwd: directory }),
        'mysql',
      );
      return run.stdout;
    },
    async source(path: string): Promise<void> {
      await this.query(`SOURCE ${path}`);
    },
    async stop(): Promise<void> {
      // A throwaway server: no clean shutdown needed, its directory goes.
      child.kill('SIGKILL');
      await exited;
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

async function mustSucceed(pending: Promise<ProcessRun>, what: string): Promise<ProcessRun> {
  const run = await pending;
  if (run.code !== 0) throw new Error(`${what} failed with exit ${run.code ?? run.signal}:\n${run.stderr.slice(-3000)}`);
  return run;
}
