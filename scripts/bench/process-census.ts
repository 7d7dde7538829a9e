import { basename } from 'node:path';
import { testOf, type CensusRow } from './test-census';

/*
 * The processes a jest run starts, read from an strace log (`npm run bench -- processes`,
 * scripts/bench/processes.ts): which commands the tests run, how often, at what CPU, and which test
 * file and test started each. strace is run as
 *
 *   strace -f --seccomp-bpf -qq -ttt -e trace=execve,clone,clone3,fork,vfork -e signal=SIGCHLD -o LOG …
 *
 * so the log has, per line, the thread id and the time (seconds since the epoch), then one of:
 *  - `execve("/usr/bin/node", ["node", "x.js"], 0x… /* 35 vars *\/) = 0` (the environment is not
 *    printed, only counted; a failed lookup along the PATH ends in `= -1 ENOENT …`),
 *  - `clone(…, flags=…|SIGCHLD, …) = 1234`, `clone3({flags=CLONE_VM|…|CLONE_THREAD|…, …}, 88) = 1234`,
 *    `vfork() = 1234`: a new process, or a new thread when the flags hold CLONE_THREAD,
 *  - `--- SIGCHLD {…, si_code=CLD_EXITED, si_pid=1234, …, si_utime=12 /* 0.12 s *\/, si_stime=3} ---`:
 *    a child ended; its user and system CPU in clock ticks (USER_HZ, 100 on Linux), all its threads
 *    together, not its own children (each reports its own),
 * and a call that another thread's line interrupted is split into `… <unfinished ...>` and a later
 * `<... clone resumed>…) = 1234` of the same thread.
 */

/** One process of the traced tree. */
export interface TracedProcess {
  readonly pid: number;
  /** The process that started it; undefined for the traced command itself. */
  readonly parent?: number;
  /** When it was started (clone or fork returned in its parent; the first execve for the root), seconds since the epoch. */
  readonly startedAt: number;
  /**
   * Its arguments at its last successful execve (what it ran in the end: `sh -c 'exec node …'` is
   * `node …`); without one, its parent's (a fork that never ran a program of its own).
   */
  readonly argv: readonly string[];
  /** Whether it ran a program of its own (a successful execve). */
  readonly execed: boolean;
  /** The arguments of its last failed execve, when no execve of it succeeded (a command not found: `watchman …`). */
  readonly failedExec?: readonly string[];
  /**
   * Its own CPU, from the SIGCHLD of its end; undefined when the log has none: SIGCHLD does not queue,
   * so of children that end while their parent has one pending (the members of a shell pipeline)
   * only one is reported; or it outlived the trace, or its parent ignored SIGCHLD.
   */
  readonly cpu?: { readonly userMs: number; readonly systemMs: number };
  readonly end?: 'exited' | 'killed' | 'dumped';
}

/** Clock ticks of si_utime and si_stime (USER_HZ is 100 on every Linux architecture). */
const TICK_MS = 10;

const LINE = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/;

/** A TracedProcess while the log is read. */
type MutableProcess = { -readonly [K in keyof TracedProcess]: TracedProcess[K] };

/** The processes of an strace log (see the top of this file for the options it must be written with), in the order they started. */
export function parseStraceLog(text: string): TracedProcess[] {
  const processes = new Map<number, MutableProcess>();
  /** Thread id → its process (thread group) id; a process's main thread is itself. */
  const threadGroup = new Map<number, number>();
  /** The first part of a call that another line interrupted, and when it was made, by thread id. */
  const unfinished = new Map<number, { text: string; at: number }>();
  const groupOf = (tid: number) => threadGroup.get(tid) ?? tid;
  const processOf = (pid: number, at: number) => {
    let entry = processes.get(pid);
    if (!entry) {
      entry = { pid, startedAt: at, argv: [], execed: false };
      processes.set(pid, entry);
    }
    return entry;
  };

  for (const [index, raw] of text.split('\n').entries()) {
    if (raw.trim() === '') continue;
    const match = LINE.exec(raw);
    if (!match) throw new Error(`strace log line ${index + 1} is not "<pid> <time> <event>": ${raw.slice(0, 120)}`);
    const tid = Number(match[1]);
    let at = Number(match[2]);
    let event = match[3];
    if (event.startsWith('+++ ')) continue; // "+++ exited with 0 +++": the SIGCHLD to the parent carries what counts
    if (event.endsWith(' <unfinished ...>')) {
      unfinished.set(tid, { text: event.slice(0, -' <unfinished ...>'.length), at });
      continue;
    }
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(event);
    if (resumed) {
      const start = unfinished.get(tid);
      unfinished.delete(tid);
      if (start === undefined) continue; // started before the trace: nothing to join
      event = start.text + resumed[2];
      at = start.at; // a clone's child exists from the call on
    }

    const signal = /^--- SIGCHLD \{(.*)\} ---$/.exec(event);
    if (signal) {
      const fields = new Map([...signal[1].matchAll(/(\w+)=([^,]*?)(?: \/\*[^*]*\*\/)?(?:,|$)/g)].map((field) => [field[1], field[2].trim()]));
      const code = fields.get('si_code');
      const ended = code === 'CLD_EXITED' ? 'exited' : code === 'CLD_KILLED' ? 'killed' : code === 'CLD_DUMPED' ? 'dumped' : undefined;
      if (!ended) continue; // stopped or continued: not an end
      const child = processOf(Number(fields.get('si_pid')), at);
      child.end = ended;
      child.cpu = { userMs: Number(fields.get('si_utime')) * TICK_MS, systemMs: Number(fields.get('si_stime')) * TICK_MS };
      continue;
    }

    const call = /^(execve|clone3?|v?fork)\((.*)\)\s+=\s+(-?\d+)/.exec(event);
    if (!call) continue;
    const [, name, args, result] = call;
    const returned = Number(result);
    if (name === 'execve') {
      const entry = processOf(groupOf(tid), at);
      if (returned === 0) {
        entry.argv = parseArgv(args, index + 1);
        entry.execed = true;
        delete entry.failedExec;
      } else if (!entry.execed) {
        entry.failedExec = parseArgv(args, index + 1); // a PATH lookup that missed; the next may hit
      }
      continue;
    }
    if (returned <= 0) continue; // failed (or the child's side of a fork, which strace does not show)
    if (name.startsWith('clone') && /\bCLONE_THREAD\b/.test(args)) {
      threadGroup.set(returned, groupOf(tid));
      continue;
    }
    const parent = groupOf(tid);
    const child = processOf(returned, at);
    child.parent = parent;
    child.startedAt = Math.min(child.startedAt, at);
    // what the parent ran is what the child runs until its own execve
    if (!child.execed) child.argv = processes.get(parent)?.argv ?? [];
  }
  return [...processes.values()].sort((a, b) => a.startedAt - b.startedAt || a.pid - b.pid);
}

/** The argument array of an execve line: `"/usr/bin/node", ["node", "-e", "x"], 0x… /* 3 vars *\/`. */
function parseArgv(args: string, line: number): string[] {
  const open = args.indexOf('[');
  if (open === -1) throw new Error(`strace log line ${line}: an execve without its argument array`);
  const argv: string[] = [];
  const string = /"((?:[^"\\]|\\.)*)"(?:\.\.\.)?/y;
  let at = open + 1;
  for (;;) {
    while (args[at] === ' ' || args[at] === ',') at++;
    if (args[at] === ']' || at >= args.length) break;
    if (args.startsWith('...', at)) break; // strace left out the rest of a long array
    string.lastIndex = at;
    const match = string.exec(args);
    if (!match) throw new Error(`strace log line ${line}: cannot read the arguments at "${args.slice(at, at + 40)}"`);
    argv.push(unescapeC(match[1]));
    at = string.lastIndex;
  }
  return argv;
}

/** strace prints strings with C escapes. */
function unescapeC(text: string): string {
  return text.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_, escape: string) => {
    if (escape[0] === 'x') return String.fromCharCode(parseInt(escape.slice(1), 16));
    if (/^[0-7]/.test(escape)) return String.fromCharCode(parseInt(escape, 8));
    return ({ n: '\n', t: '\t', r: '\r', v: '\v', f: '\f' } as Record<string, string>)[escape] ?? escape;
  });
}

/** Options of node that take a value (the script comes after it). */
const NODE_VALUE_OPTIONS = new Set(['-r', '--require', '--import', '--loader', '--experimental-loader', '--cpu-prof-dir', '--cpu-prof-name', '--env-file', '--stack-size', '--max-old-space-size']);

/** Programs whose first argument after the options names what they do (`git init`, `openssl x509`, `npm run`). */
const SUBCOMMAND_PROGRAMS = new Set(['git', 'openssl', 'npm', 'npx', 'tofu', 'gpg', 'kubectl', 'helm']);

/**
 * A short name for what a process ran, which processes of the same kind share: `node -e`,
 * `sigstore-cdk.js synth`, `npm run`, `openssl x509`, `bash -c`, `jest worker`. Never an option's
 * value or a temporary path.
 */
export function commandName(argv: readonly string[]): string {
  if (argv.length === 0) return '(no execve)';
  const program = basename(argv[0]);
  const rest = argv.slice(1);
  if (program === 'node' || program === 'nodejs') {
    for (let index = 0; index < rest.length; index++) {
      const argument = rest[index];
      if (argument === '-e' || argument === '--eval' || argument === '-p' || argument === '--print') return `node ${argument}`;
      if (NODE_VALUE_OPTIONS.has(argument)) {
        index++;
        continue;
      }
      if (argument.startsWith('-')) continue;
      const script = basename(argument);
      if (script === 'processChild.js') return 'jest worker';
      const subcommand = rest.slice(index + 1).find((next) => !next.startsWith('-'));
      return subcommand !== undefined && /^[a-z][a-z0-9:-]*$/.test(subcommand) ? `${script} ${subcommand}` : script;
    }
    return 'node';
  }
  const first = rest.find((argument) => !argument.startsWith('-'));
  if (SUBCOMMAND_PROGRAMS.has(program) && first !== undefined && /^[a-z][a-z0-9:-]*$/.test(first)) return `${program} ${first}`;
  if ((program === 'sh' || program === 'bash') && rest.includes('-c')) return `${program} -c`;
  return program;
}

/** commandName of what a process ran; a fork that ran no program of its own, or whose program was not found, says so. */
export function processCommand(entry: TracedProcess): string {
  if (entry.execed) return commandName(entry.argv);
  if (entry.failedExec) return `${commandName(entry.failedExec)} (not run: execve failed)`;
  return `${commandName(entry.argv)} (fork, no execve)`;
}

/** CPU and count of a set of processes. */
export interface ProcessTally {
  readonly processes: number;
  readonly cpuMs: number;
  /** Processes whose end the log does not show (their CPU is not in cpuMs). */
  readonly unmeasured: number;
}

/** The processes that ran one command (commandName). */
export interface CommandTally extends ProcessTally {
  readonly command: string;
}

/** What the processes of one test file (or the run outside any) cost, and which commands. */
export interface FileProcesses extends ProcessTally {
  /** Relative to the repository root, as the census names it: the grouped file for a grouped suite. */
  readonly file: string;
  /** Its commands, the most CPU first. */
  readonly commands: readonly CommandTally[];
}

export interface ProcessCensus {
  readonly all: ProcessTally;
  /** The jest workers themselves. */
  readonly workers: ProcessTally;
  /** Every process the workers started, with what those started in turn. */
  readonly underWorkers: ProcessTally;
  /** Every other process: jest's parent, global setup, strace's own command. */
  readonly elsewhere: ProcessTally;
  /** Commands started under the workers, the most CPU first. */
  readonly commands: readonly CommandTally[];
  /** Test files by the CPU of the processes they started, the most first. */
  readonly files: readonly FileProcesses[];
  /** Tests (and hooks) by the number of processes they started, the most first. */
  readonly tests: readonly ({ readonly file: string; readonly name: string } & ProcessTally)[];
}

/**
 * Sums the processes of a traced jest run by command, test file and test. `rows` are the census
 * environment's rows by worker pid (test/suites/census-environment.js, with `startedAtMs` and `endedAtMs`): a process
 * belongs to the test, or else the hook or file, of its worker that ran when it started. Files are
 * named relative to `root`, a grouped test under its own file (testOf).
 */
export function summarizeProcesses(processes: readonly TracedProcess[], rowsByWorker: ReadonlyMap<number, readonly CensusRow[]>, root: string): ProcessCensus {
  const byPid = new Map(processes.map((entry) => [entry.pid, entry]));
  const isWorker = (entry: TracedProcess) => entry.execed && commandName(entry.argv) === 'jest worker';
  const workerOf = (entry: TracedProcess): number | undefined => {
    for (let current = entry.parent === undefined ? undefined : byPid.get(entry.parent); current; current = current.parent === undefined ? undefined : byPid.get(current.parent)) {
      if (isWorker(current)) return current.pid;
    }
    return undefined;
  };
  const tally = () => ({ processes: 0, cpuMs: 0, unmeasured: 0 });
  const add = (into: { processes: number; cpuMs: number; unmeasured: number }, entry: TracedProcess) => {
    into.processes++;
    if (entry.cpu) into.cpuMs += entry.cpu.userMs + entry.cpu.systemMs;
    else into.unmeasured++;
  };

  const all = tally();
  const workers = tally();
  const underWorkers = tally();
  const elsewhere = tally();
  const commands = new Map<string, ReturnType<typeof tally>>();
  const files = new Map<string, { tally: ReturnType<typeof tally>; commands: Map<string, ReturnType<typeof tally>> }>();
  const tests = new Map<string, { file: string; name: string; tally: ReturnType<typeof tally> }>();

  for (const entry of processes) {
    add(all, entry);
    if (isWorker(entry)) {
      add(workers, entry);
      continue;
    }
    const worker = workerOf(entry);
    if (worker === undefined) {
      add(elsewhere, entry);
      continue;
    }
    add(underWorkers, entry);
    const command = processCommand(entry);
    add(getOr(commands, command, tally), entry);
    const row = rowAt(rowsByWorker.get(worker) ?? [], entry.startedAt * 1000);
    const named = row ? testOf(row, root) : { file: '(no test file: the worker between files)', name: '' };
    const file = getOr(files, named.file, () => ({ tally: tally(), commands: new Map() }));
    add(file.tally, entry);
    add(getOr(file.commands, command, tally), entry);
    if (row && row.kind !== 'file') add(getOr(tests, `${named.file}\n${named.name}`, () => ({ ...named, tally: tally() })).tally, entry);
  }

  const byCpu = <T extends ProcessTally>(a: T, b: T) => b.cpuMs - a.cpuMs || b.processes - a.processes;
  const commandList = (from: Map<string, ReturnType<typeof tally>>) =>
    [...from].map(([command, counted]) => ({ command, ...counted })).sort((a, b) => byCpu(a, b) || a.command.localeCompare(b.command));
  return {
    all,
    workers,
    underWorkers,
    elsewhere,
    commands: commandList(commands),
    files: [...files].map(([file, entry]) => ({ file, ...entry.tally, commands: commandList(entry.commands) })).sort((a, b) => byCpu(a, b) || a.file.localeCompare(b.file)),
    tests: [...tests.values()]
      .map((entry) => ({ file: entry.file, name: entry.name, ...entry.tally }))
      .sort((a, b) => b.processes - a.processes || b.cpuMs - a.cpuMs || a.file.localeCompare(b.file) || a.name.localeCompare(b.name)),
  };
}

/** The row of one worker that ran at `atMs` (epoch milliseconds): the shortest window that holds it, so a test before the file around it. */
function rowAt(rows: readonly CensusRow[], atMs: number): CensusRow | undefined {
  let best: CensusRow | undefined;
  for (const row of rows) {
    if (row.startedAtMs === undefined || row.endedAtMs === undefined) continue;
    if (atMs < row.startedAtMs || atMs > row.endedAtMs) continue;
    if (!best || row.endedAtMs - row.startedAtMs < best.endedAtMs! - best.startedAtMs!) best = row;
  }
  return best;
}

function getOr<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}
