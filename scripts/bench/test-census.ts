import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** One line that test/suites/census-environment.js wrote: a test, a hook run or a whole test file. */
export interface CensusRow {
  /** The test file jest ran (absolute). */
  readonly file: string;
  readonly kind: 'test' | 'hook' | 'file';
  /** Describe blocks and test name joined with ' > '; a hook's ends in `hook:<type>`; a file's is `(file)`. */
  readonly name: string;
  /** CPU of the jest worker meanwhile. */
  readonly selfMs: number;
  /** CPU of the child processes the worker waited for meanwhile; null without /proc. */
  readonly childrenMs: number | null;
  readonly wallMs: number;
  /** When it started and ended, milliseconds since the epoch (for `npm run bench -- processes`, which places processes in tests by time). */
  readonly startedAtMs?: number;
  readonly endedAtMs?: number;
}

/** One test file as jest ran it (a grouped suite of test/suites/ is one). */
export interface SuiteCensus {
  /** Relative to the repository root. */
  readonly file: string;
  readonly selfMs: number;
  readonly childrenMs: number;
  readonly wallMs: number;
  /** Worker CPU inside test functions and inside hooks. */
  readonly testsSelfMs: number;
  readonly hooksSelfMs: number;
  /** Worker CPU of the file outside its tests and hooks: loading its modules, jest's own work. */
  readonly outsideTestsMs: number;
  readonly tests: number;
}

/** A test or a hook run, with the test file it is written in (the grouped file for a grouped suite). */
export interface TestCensus {
  /** Relative to the repository root: `test/k8s/ingress.test.ts`, also when it ran in `test/suites/k8s-1.suite.ts`. */
  readonly file: string;
  readonly name: string;
  readonly kind: 'test' | 'hook';
  readonly selfMs: number;
  readonly childrenMs: number;
  readonly wallMs: number;
}

export interface CensusSummary {
  /** Every suite, the most CPU (worker and children) first. */
  readonly suites: readonly SuiteCensus[];
  /** Every test and hook run, the most CPU first. */
  readonly tests: readonly TestCensus[];
  readonly totals: {
    readonly suites: number;
    readonly tests: number;
    /** Worker CPU of all suites, and its parts. */
    readonly selfMs: number;
    readonly testsSelfMs: number;
    readonly hooksSelfMs: number;
    readonly outsideTestsMs: number;
    /** CPU of the children the workers waited for. */
    readonly childrenMs: number;
  };
}

/** Every row the census environment wrote into `directory` (one JSON-lines file per jest worker). */
export function readCensus(directory: string): CensusRow[] {
  return [...readCensusByWorker(directory).values()].flat();
}

/** The rows of `directory` by the pid of the jest worker that wrote them (each writes `<pid>.jsonl`), in file-name order. */
export function readCensusByWorker(directory: string): Map<number, CensusRow[]> {
  const byWorker = new Map<number, CensusRow[]>();
  for (const name of readdirSync(directory).filter((file) => file.endsWith('.jsonl')).sort()) {
    const rows = readFileSync(join(directory, name), 'utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line, index) => {
        try {
          return JSON.parse(line) as CensusRow;
        } catch {
          throw new Error(`${join(directory, name)} line ${index + 1} is not JSON: ${line.slice(0, 80)}`);
        }
      });
    byWorker.set(Number(name.slice(0, -'.jsonl'.length)), rows);
  }
  return byWorker;
}

/**
 * The test file (relative to `root`) and name of a row: a grouped suite's tests sit in a describe
 * block named after their file's path under test/ (test/suites/run-group.ts), and are listed under
 * that file, without the block.
 */
export function testOf(row: CensusRow, root: string): { file: string; name: string } {
  const testRoot = join(root, 'test');
  const [first, ...rest] = row.name.split(' > ');
  const grouped = row.file.startsWith(join(testRoot, 'suites')) && first.endsWith('.test.ts') && rest.length > 0;
  return grouped ? { file: relative(root, join(testRoot, first)), name: rest.join(' > ') } : { file: relative(root, row.file), name: row.name };
}

const cpu = (entry: { selfMs: number; childrenMs: number }) => entry.selfMs + entry.childrenMs;

/**
 * Sums the rows per suite and lists the tests and hook runs; paths relative to `root`. A grouped
 * suite's tests sit in a describe block named after their file's path under test/ (test/suites/run-group.ts):
 * that file is the one a test is listed under.
 */
export function summarizeCensus(rows: readonly CensusRow[], root: string): CensusSummary {
  const suites = new Map<string, { selfMs: number; childrenMs: number; wallMs: number; testsSelfMs: number; hooksSelfMs: number; tests: number; ran: boolean }>();
  const tests: TestCensus[] = [];
  for (const row of rows) {
    const suite = suites.get(row.file) ?? { selfMs: 0, childrenMs: 0, wallMs: 0, testsSelfMs: 0, hooksSelfMs: 0, tests: 0, ran: false };
    suites.set(row.file, suite);
    const childrenMs = row.childrenMs ?? 0;
    if (row.kind === 'file') {
      suite.selfMs += row.selfMs;
      suite.childrenMs += childrenMs;
      suite.wallMs += row.wallMs;
      suite.ran = true;
      continue;
    }
    if (row.kind === 'test') {
      suite.testsSelfMs += row.selfMs;
      suite.tests += 1;
    } else {
      suite.hooksSelfMs += row.selfMs;
    }
    tests.push({
      ...testOf(row, root),
      kind: row.kind,
      selfMs: row.selfMs,
      childrenMs,
      wallMs: row.wallMs,
    });
  }
  const suiteList: SuiteCensus[] = [...suites]
    .filter(([, suite]) => suite.ran)
    .map(([file, suite]) => ({
      file: relative(root, file),
      selfMs: suite.selfMs,
      childrenMs: suite.childrenMs,
      wallMs: suite.wallMs,
      testsSelfMs: suite.testsSelfMs,
      hooksSelfMs: suite.hooksSelfMs,
      outsideTestsMs: Math.max(0, suite.selfMs - suite.testsSelfMs - suite.hooksSelfMs),
      tests: suite.tests,
    }))
    .sort((a, b) => cpu(b) - cpu(a) || a.file.localeCompare(b.file));
  tests.sort((a, b) => cpu(b) - cpu(a) || a.file.localeCompare(b.file) || a.name.localeCompare(b.name));
  const sum = (pick: (suite: SuiteCensus) => number) => suiteList.reduce((total, suite) => total + pick(suite), 0);
  return {
    suites: suiteList,
    tests,
    totals: {
      suites: suiteList.length,
      tests: sum((suite) => suite.tests),
      selfMs: sum((suite) => suite.selfMs),
      testsSelfMs: sum((suite) => suite.testsSelfMs),
      hooksSelfMs: sum((suite) => suite.hooksSelfMs),
      outsideTestsMs: sum((suite) => suite.outsideTestsMs),
      childrenMs: sum((suite) => suite.childrenMs),
    },
  };
}
