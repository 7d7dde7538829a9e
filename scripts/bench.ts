/**
 * `npm run bench`: wall times of what operators run, measured as processes. Not a test: numbers vary
 * with the machine; read them, compare them between commits. `BENCH_RUNS` sets the runs per case.
 * `npm run bench -- tests` measures `npm test` itself, `npm run bench -- processes` the processes it
 * starts (only when named).
 */
import { join } from 'node:path';
import { createContext, type BenchCase, type Measurement } from './bench/harness';
import { cloudBench } from './bench/cloud';
import { clusterBench } from './bench/cluster';
import { kmsBench } from './bench/kms';
import { peerBench } from './bench/peer';
import { phasesBench } from './bench/phases';
import { processesBench } from './bench/processes';
import { synthBench } from './bench/synth';
import { testsBench } from './bench/tests';
import { tufBench } from './bench/tuf';

/** Every benchmark case, in report order. Add yours here. */
const CASES: Record<string, BenchCase> = {
  peer: peerBench,
  synth: synthBench,
  phases: phasesBench,
  cloud: cloudBench,
  tuf: tufBench,
  kms: kmsBench,
  cluster: clusterBench,
};

/** Cases that run only when named (`npm run bench -- tests`): they take minutes. */
const ON_REQUEST: Record<string, BenchCase> = {
  tests: testsBench,
  processes: processesBench,
};

function format(measurement: Measurement): string {
  const ms = (value?: number) => (value === undefined ? '' : `${value.toFixed(0)} ms`);
  const timing =
    measurement.medianMs === undefined
      ? ''
      : `median ${ms(measurement.medianMs)} (min ${ms(measurement.minMs)}, max ${ms(measurement.maxMs)}, ${measurement.runs} runs)`;
  return `${measurement.name.padEnd(48)} ${timing}${measurement.notes ? `  ${measurement.notes}` : ''}`;
}

async function main(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const only = process.argv.slice(2);
  const context = createContext(join(__dirname, '..'), runs);
  process.stdout.write(`sigstore-cdk bench: node ${process.version}, ${runs} runs per case\n`);
  try {
    const unknown = only.filter((name) => !(name in CASES) && !(name in ON_REQUEST));
    if (unknown.length > 0) throw new Error(`no bench case ${unknown.map((name) => `"${name}"`).join(', ')}; the cases: ${[...Object.keys(CASES), ...Object.keys(ON_REQUEST)].join(', ')}`);
    for (const [name, benchCase] of [...Object.entries(CASES), ...Object.entries(ON_REQUEST)]) {
      if (only.length ? !only.includes(name) : name in ON_REQUEST) continue;
      for (const measurement of await benchCase(context)) process.stdout.write(`${format(measurement)}\n`);
    }
  } finally {
    context.cleanup();
  }
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
