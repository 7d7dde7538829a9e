import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

  it('deals the grouped files evenly: every suite has files of several directories, the counts differ by one at most', () => {
    const counts = Array.from({ length: groups.SUITES }, (_, index) => groups.suiteFiles(index).length);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    for (let index = 0; index < groups.SUITES; index++) {
      const directories = new Set(groups.suiteFiles(index).map((file) => relative(groups.TEST_ROOT, join(file, '..'))));
      expect(directories.size).toBeGreaterThan(5);
    }
  });

  it('has a suite file for each suite, and no other (a suite file left over would run an empty suite)', () => {
    const suiteFiles = readdirSync(join(groups.TEST_ROOT, 'suites')).filter((name) => name.endsWith('.suite.ts'));
    expect(suiteFiles.sort()).toEqual(Array.from({ length: groups.SUITES }, (_, index) => groups.suiteFileName(index)).sort());
  });

  it('keeps alone a file that uses snapshots, sets jest.setTimeout, fakes the clock at its top level or asks to', () => {
    const directory = mkdtempSync(join(tmpdir(), 'jest-suites-'));
    try {
      const reason = (source: string) => {
        const file = join(directory, 'probe.test.ts');
        writeFileSync(file, source);
        return groups.aloneReason(file);
      };
      expect(reason("it('x', () => expect(1).toMatchSnapshot());\n")).toContain('Snapshot');
      expect(reason('jest.setTimeout(120_000);\n')).toContain('setTimeout');
      expect(reason("setWallClock('2026-01-01T00:00:00Z');\n")).toContain('setWallClock');
      expect(reason('// jest-suite: alone (it holds a port)\n')).toContain('alone');
      expect(reason("it('x', async () => { setWallClock('2026-01-01T00:00:00Z'); });\n")).toBeUndefined();
      expect(reason("it('x', () => expect(1).toBe(1));\n")).toBeUndefined();
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
