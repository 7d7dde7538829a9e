import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandName, parseStraceLog, processCommand, summarizeProcesses, type TracedProcess } from '../scripts/bench/process-census';
import { processMeasurements } from '../scripts/bench/processes';
import { readCensusByWorker } from '../scripts/bench/test-census';

/*
 * The process census of `npm run bench -- processes` reads strace's log of a jest run. The fixture
 * is a real one (test/fixtures/record-process-census.sh): jest with two workers running
 * test/fixtures/process-census/project/, whose tests start `sh -c 'exec node -e …'` (200 ms of CPU),
 * openssl twice, `node -e 0` in a beforeAll, a `sleep` it kills (kill -9), and two node processes
 * at once; the census environment's rows of the same run beside it.
 */
const FIXTURE = join(__dirname, 'fixtures', 'process-census');
const LOG = readFileSync(join(FIXTURE, 'strace.log'), 'utf8');
const ROOT = '/project';

describe('the process census (scripts/bench/process-census.ts) of a real strace log', () => {
  const processes = parseStraceLog(LOG);
  const running = (command: string) => processes.filter((entry) => processCommand(entry) === command);

  it('finds every process once, threads not among them, each with what it ran in the end', () => {
    // the log's processes: every clone or fork without CLONE_THREAD, and the traced command
    const started = [...LOG.matchAll(/^\d+ [\d.]+ (?:clone|clone3|vfork|fork)\((.*)$/gm)].filter((line) => !line[1].includes('CLONE_THREAD')).length;
    const resumedForks = [...LOG.matchAll(/^\d+ [\d.]+ <\.\.\. clone resumed>/gm)].length;
    expect(processes).toHaveLength(started + 1);
    expect(resumedForks).toBeGreaterThan(0); // calls split by another thread's line are among them
    const threads = [...LOG.matchAll(/CLONE_THREAD[^\n]*\) = (\d+)$/gm)].map((match) => Number(match[1]));
    expect(threads.length).toBeGreaterThan(20);
    expect(processes.filter((entry) => threads.includes(entry.pid))).toEqual([]);

    expect(processes.map(processCommand).sort()).toEqual(
      [
        'jest.js',
        'watchman (not run: execve failed)', // jest asks for watchman; it is not installed
        'jest worker', // two workers jest starts and ends before the tests (its haste map), then the two that run them
        'jest worker',
        'jest worker',
        'jest worker',
        'node -e', // the beforeAll's node -e 0
        'node -e', // sh -c 'exec node -e …': one process, named by what it ran in the end
        'node -e', // the two at once
        'node -e',
        'openssl version',
        'openssl rand',
        'sleep',
      ].sort(),
    );
    const [root] = processes;
    expect(root).toMatchObject({ execed: true });
    expect(root.parent).toBeUndefined();
    expect(processCommand(root)).toBe('jest.js');
  });

  it('gives each process its own CPU from the SIGCHLD of its end, and its parent', () => {
    const [burner] = processes.filter((entry) => entry.argv.some((argument) => argument.includes('Date.now() + 200')));
    expect(burner.argv).toEqual(['node', '-e', 'const end = Date.now() + 200; while (Date.now() < end);']);
    // 200 ms of busy waiting, counted in 10 ms ticks
    expect(burner.cpu!.userMs + burner.cpu!.systemMs).toBeGreaterThanOrEqual(190);
    expect(burner.end).toBe('exited');
    const workers = running('jest worker');
    expect(workers.map((worker) => worker.pid)).toContain(burner.parent);
    expect(running('sleep')[0]).toMatchObject({ end: 'killed', cpu: { userMs: 0, systemMs: 0 } });
    // the watchman lookup's SIGCHLD reached a thread of jest's parent, before the parent's clone returned in the log
    const [watchman] = running('watchman (not run: execve failed)');
    expect(watchman).toMatchObject({ parent: processes[0].pid, end: 'exited', failedExec: ['watchman', '--no-pretty', 'get-sockname'] });
    for (const entry of processes.slice(1)) expect({ pid: entry.pid, measured: entry.cpu !== undefined }).toEqual({ pid: entry.pid, measured: true });
    // the kernel's own sum: the jest workers' CPU includes none of their children's
    const worker = workers.find((candidate) => candidate.pid === burner.parent)!;
    expect(worker.cpu!.userMs + worker.cpu!.systemMs).toBeLessThan(1000);
  });

  it('places each process in the test (or hook) of its worker that ran when it started', () => {
    const census = summarizeProcesses(processes, readCensusByWorker(join(FIXTURE, 'census')), ROOT);
    expect(census.workers.processes).toBe(4);
    expect(census.underWorkers.processes).toBe(7);
    expect(census.elsewhere.processes).toBe(2); // jest's parent and the watchman lookup
    expect(census.all.processes).toBe(processes.length);
    expect(census.underWorkers.cpuMs).toBeGreaterThanOrEqual(190);
    expect(census.tests.map((test) => ({ file: test.file, name: test.name, processes: test.processes }))).toEqual([
      { file: 'b.test.js', name: 'two at once', processes: 2 },
      { file: 'a.test.js', name: 'spawns openssl twice', processes: 2 },
      { file: 'a.test.js', name: 'spawns node through sh', processes: 1 },
      { file: 'b.test.js', name: 'hook:beforeAll', processes: 1 },
      { file: 'b.test.js', name: 'kills a sleeper', processes: 1 },
    ]);
    expect(census.files.map((file) => ({ file: file.file, processes: file.processes }))).toEqual([
      { file: 'a.test.js', processes: 3 },
      { file: 'b.test.js', processes: 4 },
    ]);
    expect(census.files[0].commands[0]).toMatchObject({ command: 'node -e', processes: 1 });
    expect(census.commands.map((command) => command.command)).toEqual(['node -e', 'openssl rand', 'openssl version', 'sleep']);
    expect(census.commands[0].processes).toBe(4);

    const lines = processMeasurements(census, 3);
    expect(lines[0].notes).toMatch(/^13 processes: the jest workers 4 \(CPU \d+\.\d s\), started by the tests 7 \(CPU 0\.\d s\), elsewhere 2 \(CPU \d+\.\d s; 1 not seen ending\)/); // jest's parent: strace is its parent
    expect(lines.map((line) => line.name.trim())).toEqual(
      expect.arrayContaining(['command node -e', 'file a.test.js', 'test b.test.js > two at once']),
    );
  });
});

describe('commandName: what a process ran, in a few words', () => {
  it.each<[string[], string]>([
    [['/usr/bin/node', '/repo/bin/sigstore-cdk.js', 'synth', '--env', 'prd'], 'sigstore-cdk.js synth'],
    [['node', '--cpu-prof', '--cpu-prof-dir', '/tmp/x', '/repo/bin/sigstore-cdk.js', 'state', 'push'], 'sigstore-cdk.js state'],
    [['node', '-r', '/repo/test/helpers/forbid-typescript.js', '/repo/bin/k8s.js'], 'k8s.js'],
    [['/usr/bin/node', '/repo/node_modules/jest-worker/build/processChild.js'], 'jest worker'],
    [['node', '-e', 'process.exit(3)'], 'node -e'],
    [['npm', 'run', '--silent', 'synth', '--', '--json'], 'npm run'],
    [['npx', '--no-install', 'sigstore-cdk', '--version'], 'npx sigstore-cdk'],
    [['openssl', 'x509', '-in', '/tmp/a.pem'], 'openssl x509'],
    [['bash', '-e', '-o', 'pipefail', '-c', 'npm run synth'], 'bash -c'],
    [['/usr/sbin/mariadbd', '--datadir=/tmp/x'], 'mariadbd'],
    [['node', '/tmp/sigstore-cdk-abc123/bin/sigstore-cdk.js', '/tmp/sigstore-cdk-abc123/envs'], 'sigstore-cdk.js'],
  ])('%j is %s', (argv, name) => {
    expect(commandName(argv)).toBe(name);
  });

  it('a fork without an execve is named after its parent, and says so', () => {
    const fork: TracedProcess = { pid: 2, parent: 1, startedAt: 0, argv: ['node', '/repo/bin/sigstore-cdk.js', 'synth'], execed: false };
    expect(processCommand(fork)).toBe('sigstore-cdk.js synth (fork, no execve)');
  });
});

describe('parseStraceLog on lines it must take apart', () => {
  it('joins a call another line interrupted, unescapes C strings, and names a line it cannot read', () => {
    const log = [
      '100 1.000000 execve("/usr/bin/node", ["node", "a.js"], 0x1 /* 3 vars */) = 0',
      '100 1.050000 clone3({flags=CLONE_VM|CLONE_THREAD, exit_signal=0} => {parent_tid=[102]}, 88) = 102',
      '100 1.100000 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD <unfinished ...>',
      '101 1.100600 execve("/usr/bin/sh", ["sh", "-c", "echo \\"a\\\\b\\"\\n\\x41"], 0x2 /* 3 vars */) = 0',
      '100 1.100700 <... clone resumed>, child_tidptr=0x3) = 101',
      '102 1.200000 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_DUMPED, si_pid=101, si_uid=0, si_status=SIGSEGV, si_utime=7 /* 0.07 s */, si_stime=2 /* 0.02 s */} ---',
      '100 1.300000 +++ exited with 0 +++',
    ].join('\n');
    expect(parseStraceLog(log)).toEqual([
      { pid: 100, startedAt: 1, argv: ['node', 'a.js'], execed: true },
      { pid: 101, parent: 100, startedAt: 1.1, argv: ['sh', '-c', 'echo "a\\b"\nA'], execed: true, end: 'dumped', cpu: { userMs: 70, systemMs: 20 } },
    ]);
    expect(() => parseStraceLog('strace: Process 5 attached')).toThrow('strace log line 1 is not "<pid> <time> <event>": strace: Process 5 attached');
  });
});
