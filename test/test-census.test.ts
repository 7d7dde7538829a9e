import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { censusMeasurements } from '../scripts/bench/tests';
import { readCensus, summarizeCensus, type CensusRow } from '../scripts/bench/test-census';
import { REPO_ROOT } from './helpers/cli-process';
import { useTempDirectory } from './helpers/temp-directory';

/*
 * The CPU census of `npm test` (`npm run bench -- tests`): test/suites/census-environment.js records
 * each test, hook and file; scripts/bench/test-census.ts sums them. The environment is run by a real
 * jest on tests that burn a known amount of CPU, in the worker or in a child process.
 */
const ENVIRONMENT = join(REPO_ROOT, 'test', 'suites', 'census-environment.js');

/** Burns `ms` of this process's CPU (not wall time: the machine may be busy). */
const BURN = (ms: number) => `(() => { const start = process.cpuUsage(); while (true) { const used = process.cpuUsage(start); if ((used.user + used.system) / 1000 >= ${ms}) break; } })()`;

describe('the census environment (test/suites/census-environment.js), under a real jest', () => {
  const temp = useTempDirectory();

  it('gives each test the CPU of the worker and of the children it waited for; a hook only its own; a file all of it', () => {
    const project = join(temp(), 'project');
    const census = join(temp(), 'census');
    mkdirSync(project);
    mkdirSync(census);
    writeFileSync(
      join(project, 'burn.test.js'),
      [
        "const { spawnSync } = require('node:child_process');",
        "describe('outer', () => {",
        '  beforeEach(() => {});',
        '  afterEach(() => {});',
        `  test('in a child', () => { spawnSync(process.execPath, ['-e', ${JSON.stringify(BURN(300))}]); });`,
        `  test('in the worker', () => { ${BURN(300)}; });`,
        '});',
      ].join('\n'),
    );
    writeFileSync(join(project, 'quick.test.js'), "test('quick', () => {});\n");
    const config = { rootDir: project, testMatch: ['**/*.test.js'], transform: {}, cacheDirectory: join(temp(), 'cache'), testEnvironment: ENVIRONMENT };
    const before = Date.now();
    const jest = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '-c', JSON.stringify(config), '--runInBand', '--ci'], {
      cwd: project,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, SIGSTORE_CDK_TEST_CENSUS_DIR: census },
      encoding: 'utf8',
    });
    expect({ status: jest.status, stderr: jest.stderr }).toEqual({ status: 0, stderr: expect.stringContaining('3 passed') });

    const after = Date.now();
    const rows = readCensus(census);
    // Each row's window on the system clock (what `npm run bench -- processes` places processes by): inside the run, as long as its wall time.
    for (const { startedAtMs, endedAtMs, wallMs } of rows) {
      expect(startedAtMs).toBeGreaterThanOrEqual(before);
      expect(endedAtMs).toBeLessThanOrEqual(after);
      expect(Math.abs(endedAtMs! - startedAtMs! - wallMs)).toBeLessThanOrEqual(1);
    }
    const row = (file: string, name: string) => rows.filter((candidate) => candidate.file === join(project, file) && candidate.name === name);
    const [child] = row('burn.test.js', 'outer > in a child');
    const [worker] = row('burn.test.js', 'outer > in the worker');
    expect(child).toMatchObject({ kind: 'test', childrenMs: expect.any(Number), selfMs: expect.any(Number) });
    expect(child.childrenMs).toBeGreaterThanOrEqual(290); // the kernel counts in 10 ms ticks
    expect(child.selfMs).toBeLessThan(150);
    expect(worker.selfMs).toBeGreaterThanOrEqual(300);
    expect(worker.childrenMs).toBe(0);
    expect(worker.startedAtMs).toBeGreaterThanOrEqual(child.endedAtMs!); // one test after the other
    // A beforeEach or afterEach runs once per test, and is timed alone: not with the test it runs
    // before or after (jest names that test in the hook's events too).
    for (const type of ['beforeEach', 'afterEach']) {
      const hooks = row('burn.test.js', `outer > hook:${type}`);
      expect(hooks.map((hook) => ({ type, childrenMs: hook.childrenMs, under150ms: hook.selfMs < 150 }))).toEqual(Array(2).fill({ type, childrenMs: 0, under150ms: true }));
    }
    // A file holds its tests, its hooks and the loading around them.
    const [file] = row('burn.test.js', '(file)');
    expect(file.selfMs).toBeGreaterThanOrEqual(worker.selfMs + child.selfMs);
    expect(file.childrenMs).toBeGreaterThanOrEqual(child.childrenMs!);
    expect(row('quick.test.js', '(file)')).toHaveLength(1);
    expect(rows.filter((candidate) => candidate.kind === 'test')).toHaveLength(3);
    expect(rows.filter((candidate) => candidate.kind === 'file')).toHaveLength(2);
    // Besides the file's own hook runs only jest's (a beforeEach of its root block, named without a block).
    expect(new Set(rows.filter((candidate) => candidate.kind === 'hook').map((candidate) => candidate.name))).toEqual(new Set(['outer > hook:beforeEach', 'outer > hook:afterEach', 'hook:beforeEach']));

    const summary = summarizeCensus(rows, project);
    expect(summary.suites.map((suite) => suite.file)).toEqual(['burn.test.js', 'quick.test.js']);
    expect(summary.tests.slice(0, 2).map((test) => test.name).sort()).toEqual(['outer > in a child', 'outer > in the worker']);
    expect(summary.totals).toMatchObject({ suites: 2, tests: 3 });
  });
});

describe('summarizeCensus (scripts/bench/test-census.ts)', () => {
  const temp = useTempDirectory();
  const root = '/repo';
  const rows: CensusRow[] = [
    { file: '/repo/test/suites/in-process-1.suite.ts', kind: 'test', name: 'k8s/ingress.test.ts > Ingresses > TLS per host', selfMs: 40, childrenMs: 0, wallMs: 45 },
    { file: '/repo/test/suites/in-process-1.suite.ts', kind: 'hook', name: 'k8s/ingress.test.ts > Ingresses > hook:beforeAll', selfMs: 10, childrenMs: 0, wallMs: 12 },
    { file: '/repo/test/suites/in-process-1.suite.ts', kind: 'file', name: '(file)', selfMs: 300, childrenMs: 0, wallMs: 400 },
    { file: '/repo/test/cli/launcher.test.ts', kind: 'test', name: 'the launchers > runs', selfMs: 5, childrenMs: 900, wallMs: 950 },
    { file: '/repo/test/cli/launcher.test.ts', kind: 'file', name: '(file)', selfMs: 80, childrenMs: 1000, wallMs: 1100 },
    // A worker that died mid-file wrote no file row: its tests are listed, the file is not a suite.
    { file: '/repo/test/state/crashed.test.ts', kind: 'test', name: 'crashes', selfMs: 1, childrenMs: null, wallMs: 1 },
  ];

  it('sums per suite, lists a grouped test under its own file, and orders by CPU', () => {
    const summary = summarizeCensus(rows, root);
    expect(summary.suites).toEqual([
      { file: 'test/cli/launcher.test.ts', selfMs: 80, childrenMs: 1000, wallMs: 1100, testsSelfMs: 5, hooksSelfMs: 0, outsideTestsMs: 75, tests: 1 },
      { file: 'test/suites/in-process-1.suite.ts', selfMs: 300, childrenMs: 0, wallMs: 400, testsSelfMs: 40, hooksSelfMs: 10, outsideTestsMs: 250, tests: 1 },
    ]);
    expect(summary.tests.map((test) => [test.file, test.kind, test.name])).toEqual([
      ['test/cli/launcher.test.ts', 'test', 'the launchers > runs'],
      ['test/k8s/ingress.test.ts', 'test', 'Ingresses > TLS per host'],
      ['test/k8s/ingress.test.ts', 'hook', 'Ingresses > hook:beforeAll'],
      ['test/state/crashed.test.ts', 'test', 'crashes'],
    ]);
    expect(summary.totals).toEqual({ suites: 2, tests: 2, selfMs: 380, testsSelfMs: 45, hooksSelfMs: 10, outsideTestsMs: 325, childrenMs: 1000 });
  });

  it('reports the whole run first, then the suites and tests by name', () => {
    const lines = censusMeasurements(summarizeCensus(rows, root), 2000, { userMs: 1200, systemMs: 300 });
    expect(lines[0]).toMatchObject({ name: 'npm test: jest (census environment)', medianMs: 2000, runs: 1 });
    expect(lines[0].notes).toContain('CPU 1.5 s (user 1.2 s, system 0.3 s)');
    expect(lines[0].notes).toContain('test files: 1.4 s: in the workers 0.4 s (tests 0.0 s, hooks 0.0 s, module loading and jest outside them 0.3 s), their child processes 1.0 s');
    expect(lines[0].notes).toContain("the rest (jest's parent, global setup, children reaped after their file ended) 0.1 s");
    expect(lines.map((line) => line.name.trim())).toEqual([
      'npm test: jest (census environment)',
      'suite test/cli/launcher.test.ts',
      'suite test/suites/in-process-1.suite.ts',
      'test test/cli/launcher.test.ts > the launchers > runs',
      'test test/k8s/ingress.test.ts > Ingresses > TLS per host',
      'hook test/k8s/ingress.test.ts > Ingresses > hook:beforeAll',
      'test test/state/crashed.test.ts > crashes',
    ]);
  });

  it('readCensus names a line that is not JSON', () => {
    const directory = temp();
    writeFileSync(join(directory, '1.jsonl'), `${JSON.stringify(rows[0])}\n{"file": cut off\n`);
    expect(() => readCensus(directory)).toThrow(`${join(directory, '1.jsonl')} line 2 is not JSON: {"file": cut off`);
  });
});
