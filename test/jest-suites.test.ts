import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/* eslint-disable @typescript-eslint/no-require-imports */
const groups = require('./suites/groups') as {
  GROUPED: Record<string, number>;
  TEST_ROOT: string;
  aloneReason: (file: string) => string | undefined;
  groupedFiles: () => string[];
  suiteFiles: (directory: string, index?: number) => string[];
};
const suitesConfig = require('../jest.suites.config.js') as { testMatch: string[]; testPathIgnorePatterns: string[] };

/** Every *.test.ts under test/, as absolute paths. */
function testFiles(directory = groups.TEST_ROOT): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const ignored = (file: string) => suitesConfig.testPathIgnorePatterns.some((pattern) => new RegExp(pattern).test(file));

describe('npm test runs every test file exactly once (jest.suites.config.js, test/suites/groups.js)', () => {
  it('a file runs in exactly one group, and then not alone; every other file runs alone', () => {
    const grouped = groups.groupedFiles();
    expect(new Set(grouped).size).toBe(grouped.length);
    const files = testFiles();
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) {
      const name = relative(groups.TEST_ROOT, file);
      expect([name, ignored(file)]).toEqual([name, grouped.includes(file)]);
      if (!grouped.includes(file) && Object.keys(groups.GROUPED).includes(relative(groups.TEST_ROOT, join(file, '..')) || '.')) {
        expect([name, groups.aloneReason(file)]).toEqual([name, expect.any(String)]);
      }
    }
    // Every grouped file is a file of its group's directory.
    for (const [directory, count] of Object.entries(groups.GROUPED)) {
      for (let index = 0; index < count; index++) {
        for (const file of groups.suiteFiles(directory, index)) expect(relative(groups.TEST_ROOT, join(file, '..')) || '.').toBe(directory);
      }
    }
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
