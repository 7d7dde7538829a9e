import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/* eslint-disable @typescript-eslint/no-require-imports */
const groups = require('./suites/groups') as {
  SUITES: number;
  TEST_ROOT: string;
  aloneReason: (file: string) => string | undefined;
  groupedFiles: () => string[];
  suiteFiles: (index: number) => string[];
  suiteFileName: (index: number) => string;
  testFiles: () => string[];
  deal: (files: string[], weights: Record<string, number>, count: number) => string[][];
  fileWeights: () => Record<string, number>;
  repositoryPath: (file: string) => string;
};
const suitesConfig = require('../jest.suites.config.js') as { testMatch: string[]; testPathIgnorePatterns: string[] };

/** Every *.test.ts under test/, as absolute paths (walked here, not by groups.js). */
function testFiles(directory = groups.TEST_ROOT): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const ignored = (file: string) => suitesConfig.testPathIgnorePatterns.some((pattern) => new RegExp(pattern).test(file));

describe('npm test runs every test file exactly once (jest.suites.config.js, test/suites/groups.js)', () => {
  it('a file runs in exactly one suite, and then not alone; every other file runs alone, for a reason', () => {
    const grouped = groups.groupedFiles();
    expect(new Set(grouped).size).toBe(grouped.length);
    const files = testFiles();
    expect(files.length).toBeGreaterThan(50);
    expect(groups.testFiles().sort()).toEqual(files.sort());
    for (const file of files) {
      const name = relative(groups.TEST_ROOT, file);
      expect([name, ignored(file)]).toEqual([name, grouped.includes(file)]);
      expect([name, groups.aloneReason(file) === undefined]).toEqual([name, grouped.includes(file)]);
    }
    // The suites together hold the grouped files, each once.
    const dealt = Array.from({ length: groups.SUITES }, (_, index) => groups.suiteFiles(index));
    expect(dealt.flat().sort()).toEqual([...grouped].sort());
    expect(groups.suiteFiles(groups.SUITES)).toEqual([]);
  });

  it('deals the files by weight: the heaviest first, each to the lightest suite; an unmeasured file weighs the median', () => {
    const file = (name: string) => join(groups.TEST_ROOT, '..', name);
    const names = (suites: string[][]) => suites.map((suite) => suite.map(groups.repositoryPath));
    const weights = { 'a/one.test.ts': 10, 'a/two.test.ts': 9, 'b/three.test.ts': 6, 'b/four.test.ts': 4, 'c/five.test.ts': 1 };
    const files = Object.keys(weights).map(file);
    // 10 -> first; 9 -> second; 6 -> second (9 < 10); 4 -> first (10 < 15); 1 -> first (14 < 15). Each suite in path order.
    expect(names(groups.deal(files, weights, 2))).toEqual([
      ['a/one.test.ts', 'b/four.test.ts', 'c/five.test.ts'],
      ['a/two.test.ts', 'b/three.test.ts'],
    ]);
    // A new file weighs the median (6): after 10 and 9 it goes to the second suite (9 < 10), as b/three did.
    const { 'b/three.test.ts': _measured, ...withoutThree } = weights;
    expect(names(groups.deal(files, withoutThree, 2))).toEqual(names(groups.deal(files, weights, 2)));
    // Nothing measured: every file weighs the same, and the suites' counts differ by one at most.
    expect(groups.deal(files, {}, 3).map((suite) => suite.length)).toEqual([2, 2, 1]);
  });

  it("deals npm test's grouped files into suites whose measured weights differ by at most the heaviest file's, each with files of several directories", () => {
    const weights = groups.fileWeights();
    const weightOf = (path: string) => weights[groups.repositoryPath(path)] ?? 0;
    const suites = Array.from({ length: groups.SUITES }, (_, index) => groups.suiteFiles(index));
    const totals = suites.map((suite) => suite.reduce((sum, path) => sum + weightOf(path), 0));
    const heaviest = Math.max(...suites.flat().map(weightOf));
    expect(heaviest).toBeGreaterThan(0);
    expect(Math.max(...totals) - Math.min(...totals)).toBeLessThanOrEqual(heaviest);
    for (const suite of suites) expect(new Set(suite.map((path) => relative(groups.TEST_ROOT, join(path, '..')))).size).toBeGreaterThan(5);
  });

  it('scripts/test-durations.js keeps, per grouped file, the newest time a suite recorded, else the committed one, for the files grouped now', () => {
    const { mergeFileDurations } = require('../scripts/test-durations.js') as {
      mergeFileDurations: (records: { written: string; files: Record<string, number> }[], committed: Record<string, number>, grouped: string[]) => Record<string, number>;
    };
    const records: { written: string; files: Record<string, number> }[] = [
      { written: '2026-12-07T10:00:00.000Z', files: { 'a.test.ts': 100, 'b.test.ts': 200 } },
      // a later run, in which a.test.ts moved to another suite
      { written: '2026-12-07T11:00:00.000Z', files: { 'a.test.ts': 300 } },
    ];
    const merged = mergeFileDurations(records, { 'c.test.ts': 50, 'gone.test.ts': 999 }, ['c.test.ts', 'a.test.ts', 'b.test.ts', 'new.test.ts']);
    expect(Object.entries(merged)).toEqual([
      ['a.test.ts', 300],
      ['b.test.ts', 200],
      ['c.test.ts', 50],
    ]);
  });

  it('has a suite file for each suite, and no other (a suite file left over would run an empty suite)', () => {
    const suiteFiles = readdirSync(join(groups.TEST_ROOT, 'suites')).filter((name) => name.endsWith('.suite.ts'));
    expect(suiteFiles.sort()).toEqual(Array.from({ length: groups.SUITES }, (_, index) => groups.suiteFileName(index)).sort());
  });

  it('keeps alone a file that uses inline snapshots, sets one timeout for all its tests, fakes the clock at its top level or asks to', () => {
    const directory = mkdtempSync(join(tmpdir(), 'jest-suites-'));
    try {
      const reason = (source: string) => {
        const file = join(directory, 'probe.test.ts');
        writeFileSync(file, source);
        return groups.aloneReason(file);
      };
      // (the probes are spelled in parts, so that this file is not kept alone by them)
      expect(reason(`it('x', () => expect(1).toMatchInline${'Snapshot'}());\n`)).toContain('InlineSnapshot');
      expect(reason("it('x', () => expect(1).toMatchSnapshot());\n")).toBeUndefined(); // file-snapshots.js keeps it in the file's .snap
      expect(reason(`jest.set${'Timeout'}(120_000);\n`)).toContain('setTimeout');
      expect(reason("setWallClock('2026-01-01T00:00:00Z');\n")).toContain('setWallClock');
      expect(reason(`// jest-suite: ${'alone'} (it holds a port)\n`)).toContain('alone');
      expect(reason("it('x', async () => { setWallClock('2026-01-01T00:00:00Z'); });\n")).toBeUndefined();
      expect(reason("it('x', () => expect(1).toBe(1));\n")).toBeUndefined();
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('runs one jest worker more than the machine has cores (the run is bound by CPU)', () => {
    // jest.config.js read as on an 8-core machine: os.availableParallelism answers 8 before it loads.
    const probe = "require('node:os').availableParallelism = () => 8; process.stdout.write(String(require('./jest.config.js').maxWorkers));";
    const result = spawnSync(process.execPath, ['-e', probe], { cwd: join(groups.TEST_ROOT, '..'), encoding: 'utf8' });
    expect({ status: result.status, stderr: result.stderr, maxWorkers: result.stdout }).toEqual({ status: 0, stderr: '', maxWorkers: '9' });
  });
});

describe("a grouped file's snapshots (test/suites/file-snapshots.js), under a real jest", () => {
  const FILE_SNAPSHOTS = join(groups.TEST_ROOT, 'suites', 'file-snapshots.js');

  /** A project whose suite groups a.check.js, b.check.js and c.check.js as run-group.ts does; returns how jest ran it. */
  function runGroupedSuite(project: string, flags: string[]): { status: number | null; results: JestResults } {
    const config = { rootDir: project, testMatch: ['**/*.suite.js'], transform: {}, cacheDirectory: join(project, '.cache') };
    const output = join(project, `results-${flags.join('')}.json`);
    const jest = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '-c', JSON.stringify(config), '--runInBand', '--json', `--outputFile=${output}`, ...flags], {
      cwd: project,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      encoding: 'utf8',
    });
    return { status: jest.status, results: JSON.parse(readFileSync(output, 'utf8')) as JestResults };
  }

  interface JestResults {
    snapshot: { added: number; matched: number; unmatched: number; updated: number; unchecked: number; uncheckedKeysByFile: { filePath: string; keys: string[] }[] };
    testResults: { message: string; assertionResults: { fullName: string; status: string }[] }[];
  }

  it("reads and writes each file's own .snap under its names alone; reports an obsolete one, not a skipped test's; refuses -u over them", () => {
    const project = mkdtempSync(join(tmpdir(), 'jest-file-snapshots-'));
    try {
      mkdirSync(join(project, '__snapshots__'));
      const snap = (entries: Record<string, string>) => `// Jest Snapshot v1, https://jestjs.io/docs/snapshot-testing\n\n${Object.entries(entries).map(([key, value]) => `exports[\`${key}\`] = \`${value}\`;\n`).join('\n')}`;
      // a: one snapshot matches, one belongs to a skipped test, one is obsolete. b: a new one. c: one that differs.
      writeFileSync(join(project, 'a.check.js'), "describe('a', () => {\n  it('matches', () => expect({ x: 1 }).toMatchSnapshot());\n  it.skip('skipped', () => expect(2).toMatchSnapshot());\n});\n");
      writeFileSync(join(project, '__snapshots__', 'a.check.js.snap'), snap({ 'a matches 1': '\n{\n  "x": 1,\n}\n', 'a skipped 1': '2', 'a gone 1': '3' }));
      writeFileSync(join(project, 'b.check.js'), "it('new', () => expect('fresh').toMatchSnapshot());\n");
      writeFileSync(join(project, 'c.check.js'), "it('differs', () => expect({ x: 2 }).toMatchSnapshot());\n");
      writeFileSync(join(project, '__snapshots__', 'c.check.js.snap'), snap({ 'differs 1': '\n{\n  "x": 1,\n}\n' }));
      const registerFiles = ['a.check.js', 'b.check.js', 'c.check.js']
        .map((name) => `describe(${JSON.stringify(name)}, () => {\n  useFileSnapshots(require.resolve('./${name}'), ${JSON.stringify(name)});\n  require('./${name}');\n});`)
        .join('\n');
      writeFileSync(join(project, 'group.suite.js'), `const { useFileSnapshots } = require(${JSON.stringify(FILE_SNAPSHOTS)});\n${registerFiles}\n`);

      const first = runGroupedSuite(project, ['--ci=false']);
      expect(first.status).toBe(1);
      expect(first.results.snapshot).toMatchObject({ added: 1, matched: 1, unmatched: 1, unchecked: 1, uncheckedKeysByFile: [{ filePath: join(project, 'group.suite.js'), keys: ['a.check.js a gone 1'] }] });
      const tests = first.results.testResults[0].assertionResults.map((test) => [test.fullName, test.status]);
      expect(tests).toEqual([
        ['a.check.js a matches', 'passed'],
        ['a.check.js a skipped', 'pending'],
        ['b.check.js new', 'passed'],
        ['c.check.js differs', 'failed'],
      ]);
      expect(first.results.testResults[0].message).toContain('c.check.js differs');
      // b's new snapshot is in b's own file, under the name it has alone; the suite got no file of its own.
      expect(readFileSync(join(project, '__snapshots__', 'b.check.js.snap'), 'utf8')).toContain('exports[`new 1`] = `"fresh"`;');
      expect(existsSync(join(project, '__snapshots__', 'group.suite.js.snap'))).toBe(false);

      // -u updates c, and refuses to remove a's unchecked snapshots (named), keeping them.
      const updated = runGroupedSuite(project, ['-u']);
      expect(updated.status).toBe(1);
      expect(updated.results.snapshot).toMatchObject({ updated: 1, unchecked: 0 });
      expect(updated.results.testResults[0].message).toContain('a.check.js: no test checked 2 of its snapshots (a gone 1, a skipped 1)');
      expect(updated.results.testResults[0].message).toContain(`npx jest ${join(project, 'a.check.js')} -u`);
      expect(readFileSync(join(project, '__snapshots__', 'a.check.js.snap'), 'utf8')).toContain('exports[`a gone 1`]');
      expect(readFileSync(join(project, '__snapshots__', 'c.check.js.snap'), 'utf8')).toContain('"x": 2');
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
