import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seconds, type BenchCase, type Measurement } from './harness';
import { parseStraceLog, summarizeProcesses, type ProcessCensus, type ProcessTally } from './process-census';
import { censusJestArguments } from './tests';
import { readCensusByWorker } from './test-census';

/** How many commands, files and tests the report lists by name. */
const LISTED = 15;

/**
 * `npm run bench -- processes` (only when named: it takes longer than `npm test`): the jest suites
 * of `npm test` under the census environment and under strace, which sees every process the run
 * starts: the CLI runs, npm, openssl, MariaDB, and what those start in turn. Reports them by command
 * (how many of each, and their CPU), by the test file and by the test
 * that started them (scripts/bench/process-census.ts): where the run spawns the same command again
 * and again, and what an in-process call could save.
 *
 * Needs Linux and strace on the PATH (`apt-get install strace`; it traces only process starts and
 * ends, with seccomp filtering where the kernel has it); without it the case says so and measures
 * nothing. strace slows the run: its times are not those of `npm test` (`npm run bench -- tests`
 * measures those). The CPU of each process is the kernel's, from its end (SIGCHLD), in 10 ms ticks;
 * a process's CPU holds none of its children's. "not seen ending": processes whose end the log
 * lacks, mostly the members of shell pipelines (SIGCHLD does not queue); their CPU is not in the sums.
 * `BENCH_PROCESSES_OUT=file.json` keeps the whole census.
 */
export const processesBench: BenchCase = async ({ root, tempDirectory }) => {
  const probe = spawnSync('strace', ['-V'], { encoding: 'utf8' });
  if (process.platform !== 'linux' || probe.error !== undefined || probe.status !== 0) {
    return [{ name: 'processes of npm test', notes: 'skipped: needs Linux with strace on the PATH (apt-get install strace)' }];
  }
  const directory = tempDirectory();
  const census = join(directory, 'census');
  mkdirSync(census);
  const log = join(directory, 'strace.log');
  process.stderr.write('bench processes: running the jest suites of npm test under strace and the census environment (longer than npm test)...\n');
  const started = performance.now();
  const traced = spawnSync(
    'strace',
    ['-f', '--seccomp-bpf', '-qq', '-ttt', '-e', 'trace=execve,clone,clone3,fork,vfork', '-e', 'signal=SIGCHLD', '-s', '256', '-o', log, process.execPath, ...censusJestArguments(root)],
    { cwd: root, env: { ...process.env, SIGSTORE_CDK_TEST_CENSUS_DIR: census }, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 },
  );
  const wallMs = performance.now() - started;
  if (traced.status !== 0) throw new Error(`jest under strace failed (${traced.status}): a census of a failing run would mislead\n${traced.stderr.slice(-4000)}`);
  const summary = summarizeProcesses(parseStraceLog(readFileSync(log, 'utf8')), readCensusByWorker(census), root);
  if (process.env.BENCH_PROCESSES_OUT) writeFileSync(process.env.BENCH_PROCESSES_OUT, `${JSON.stringify(summary, null, 2)}\n`);
  return [{ name: 'npm test: jest under strace', medianMs: wallMs, minMs: wallMs, maxMs: wallMs, runs: 1, notes: 'slower than npm test: strace stops every process start' }, ...processMeasurements(summary, LISTED)];
};

const tallyNote = (tally: ProcessTally) => `${tally.processes} (CPU ${seconds(tally.cpuMs)}${tally.unmeasured > 0 ? `; ${tally.unmeasured} not seen ending` : ''})`;

/** The report lines of a process census: the whole run, then the costliest commands, files and the tests that start the most processes. */
export function processMeasurements(census: ProcessCensus, listed: number): Measurement[] {
  const lines: Measurement[] = [
    {
      name: 'processes of npm test',
      notes: `${census.all.processes} processes: the jest workers ${tallyNote(census.workers)}, started by the tests ${tallyNote(census.underWorkers)}, elsewhere ${tallyNote(census.elsewhere)} (jest's parent, global setup)`,
    },
  ];
  const each = (tally: ProcessTally) => (tally.processes === tally.unmeasured ? '' : `, ${(tally.cpuMs / (tally.processes - tally.unmeasured)).toFixed(0)} ms each`);
  for (const command of census.commands.slice(0, listed)) {
    lines.push({ name: `  command ${command.command}`, notes: `${command.processes} processes, CPU ${seconds(command.cpuMs)}${each(command)}` });
  }
  for (const file of census.files.slice(0, listed)) {
    const top = file.commands
      .slice(0, 3)
      .map((command) => `${command.command} ×${command.processes}`)
      .join(', ');
    lines.push({ name: `  file ${file.file}`, notes: `${file.processes} processes, CPU ${seconds(file.cpuMs)}: ${top}${file.commands.length > 3 ? ', …' : ''}` });
  }
  for (const test of census.tests.slice(0, listed)) {
    lines.push({ name: `  test ${test.file} > ${test.name.length > 90 ? `${test.name.slice(0, 89)}…` : test.name}`, notes: `${test.processes} processes, CPU ${seconds(test.cpuMs)}` });
  }
  return lines;
}
