import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { seconds, type BenchCase, type Measurement } from './harness';
import { readCensus, summarizeCensus, type CensusSummary } from './test-census';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { childrenCpu } = require('../../test/suites/process-cpu.js') as { childrenCpu: () => { userMs: number; systemMs: number } | null };

/** How many suites and tests the report lists by name. */
const LISTED = 12;

/**
 * `npm run bench -- tests` (only when named: it takes as long as `npm test`): the two steps of
 * `npm test`, each once, as processes: the type check (`tsgo --noEmit`, cold: a fresh build-info
 * file) and jest with `npm test`'s configuration under the census environment
 * (test/suites/census-environment.js), which records the CPU of every test, hook and test file.
 * Reports the wall and CPU time of each step, how the jest run's CPU divides (the workers' tests,
 * hooks and module loading, the child processes they ran), and the suites and tests that cost the
 * most. `BENCH_TESTS_OUT=file.json` keeps the whole census.
 */
export const testsBench: BenchCase = async ({ root, tempDirectory }) => {
  const directory = tempDirectory();
  const results: Measurement[] = [];

  const typeCheck = measure(() => spawnSync(join(root, 'node_modules', '.bin', 'tsgo'), ['--noEmit', '--tsBuildInfoFile', join(directory, 'tsgo.tsbuildinfo')], { cwd: root, encoding: 'utf8' }));
  if (typeCheck.result.status !== 0) throw new Error(`tsgo --noEmit failed (${typeCheck.result.status}):\n${typeCheck.result.stdout}${typeCheck.result.stderr}`);
  results.push({ name: 'npm test: tsgo --noEmit (cold)', medianMs: typeCheck.wallMs, minMs: typeCheck.wallMs, maxMs: typeCheck.wallMs, runs: 1, notes: cpuNote(typeCheck.cpu) });

  const census = join(directory, 'census');
  mkdirSync(census);
  process.stderr.write('bench tests: running the jest suites of npm test with the census environment (as long as npm test takes)...\n');
  const jest = measure(() => spawnSync(process.execPath, censusJestArguments(root), { cwd: root, env: { ...process.env, SIGSTORE_CDK_TEST_CENSUS_DIR: census }, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 }));
  if (jest.result.status !== 0) throw new Error(`jest failed (${jest.result.status}): a census of a failing run would mislead\n${jest.result.stderr.slice(-4000)}`);
  const summary = summarizeCensus(readCensus(census), root);
  if (process.env.BENCH_TESTS_OUT) writeFileSync(process.env.BENCH_TESTS_OUT, `${JSON.stringify(summary, null, 2)}\n`);
  results.push(...censusMeasurements(summary, jest.wallMs, jest.cpu));
  return results;
};

/** The arguments of node that run the jest suites of `npm test` under the census environment (it writes into $SIGSTORE_CDK_TEST_CENSUS_DIR). */
export function censusJestArguments(root: string): string[] {
  return [require.resolve('jest/bin/jest'), '-c', 'jest.suites.config.js', '--testEnvironment', join(root, 'test', 'suites', 'census-environment.js')];
}

/** The report lines of a census: the whole run, then the costliest suites and tests. */
export function censusMeasurements(summary: CensusSummary, wallMs: number, cpu: { userMs: number; systemMs: number } | null): Measurement[] {
  const { totals } = summary;
  const total = cpu === null ? undefined : cpu.userMs + cpu.systemMs;
  const accounted = totals.selfMs + totals.childrenMs;
  const lines: Measurement[] = [
    {
      name: 'npm test: jest (census environment)',
      medianMs: wallMs,
      minMs: wallMs,
      maxMs: wallMs,
      runs: 1,
      notes: [
        `${cpuNote(cpu)} on ${availableParallelism()} cores`,
        `test files: ${seconds(accounted)}: in the workers ${seconds(totals.selfMs)} (tests ${seconds(totals.testsSelfMs)}, hooks ${seconds(totals.hooksSelfMs)}, module loading and jest outside them ${seconds(totals.outsideTestsMs)}), their child processes ${seconds(totals.childrenMs)}`,
        ...(total === undefined ? [] : [`the rest (jest's parent, global setup, children reaped after their file ended) ${seconds(Math.max(0, total - accounted))}`]),
        `${totals.suites} suites, ${totals.tests} tests`,
      ].join('; '),
    },
  ];
  for (const suite of summary.suites.slice(0, LISTED)) {
    lines.push({
      name: `  suite ${suite.file}`,
      notes: `CPU ${seconds(suite.selfMs + suite.childrenMs)}: worker ${seconds(suite.selfMs)} (outside tests ${seconds(suite.outsideTestsMs)}), children ${seconds(suite.childrenMs)}; wall ${seconds(suite.wallMs)}; ${suite.tests} tests`,
    });
  }
  for (const test of summary.tests.slice(0, LISTED)) {
    lines.push({
      name: `  ${test.kind} ${test.file} > ${test.name.length > 100 ? `${test.name.slice(0, 99)}…` : test.name}`,
      notes: `CPU ${seconds(test.selfMs + test.childrenMs)}: worker ${seconds(test.selfMs)}, children ${seconds(test.childrenMs)}; wall ${seconds(test.wallMs)}`,
    });
  }
  return lines;
}

function cpuNote(cpu: { userMs: number; systemMs: number } | null): string {
  return cpu === null ? 'CPU not measured (no /proc)' : `CPU ${seconds(cpu.userMs + cpu.systemMs)} (user ${seconds(cpu.userMs)}, system ${seconds(cpu.systemMs)})`;
}

/** Runs `work` (a spawnSync: the child and its whole tree are waited for) and the CPU it cost. */
function measure<T>(work: () => T): { result: T; wallMs: number; cpu: { userMs: number; systemMs: number } | null } {
  const before = childrenCpu();
  const started = performance.now();
  const result = work();
  const wallMs = performance.now() - started;
  const after = childrenCpu();
  return { result, wallMs, cpu: before === null || after === null ? null : { userMs: after.userMs - before.userMs, systemMs: after.systemMs - before.systemMs } };
}
