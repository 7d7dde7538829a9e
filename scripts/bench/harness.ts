import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One line of the benchmark report. */
export interface Measurement {
  readonly name: string;
  /** Median wall time in milliseconds. */
  readonly medianMs?: number;
  readonly minMs?: number;
  readonly maxMs?: number;
  readonly runs?: number;
  /** Anything else worth reporting (counts, sizes). */
  readonly notes?: string;
}

/** Milliseconds as seconds with one decimal, for a report line: `1.5 s`. */
export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A benchmark case: returns its measurements. Registered in scripts/bench.ts. */
export type BenchCase = (context: BenchContext) => Promise<Measurement[]>;

export interface BenchContext {
  /** Repository root. */
  readonly root: string;
  /** Runs per timed measurement. */
  readonly runs: number;
  /** A fresh temporary directory, removed when the benchmark ends. */
  tempDirectory(): string;
}

/** Times `work` `runs` times, calling `prepare` (untimed) before each run. */
export async function timeRuns(name: string, runs: number, work: () => unknown, prepare?: () => unknown): Promise<Measurement> {
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    await prepare?.();
    const started = performance.now();
    await work();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return {
    name,
    runs,
    medianMs: samples[Math.floor(samples.length / 2)],
    minMs: samples[0],
    maxMs: samples[samples.length - 1],
  };
}

/** Runs the CLI as a separate process (what an operator runs), failing loudly if it fails. */
export function runCli(root: string, args: string[]): void {
  const result = spawnSync(process.execPath, [join(root, 'bin', 'sigstore-cdk.js'), ...args], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`sigstore-cdk ${args.join(' ')} failed (${result.status}):\n${result.stderr}`);
}

/**
 * Like runCli, without blocking the event loop: for cases whose server (e.g. the KMS emulator) runs in
 * the bench process. `env` replaces the child's environment.
 */
export function runCliAsync(root: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'sigstore-cdk.js'), ...args], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`sigstore-cdk ${args.join(' ')} failed (${code}):\n${stderr}`))));
  });
}

export function createContext(root: string, runs: number): BenchContext & { cleanup(): void } {
  const directories: string[] = [];
  return {
    root,
    runs,
    tempDirectory() {
      const directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-bench-'));
      directories.push(directory);
      return directory;
    },
    cleanup() {
      for (const directory of directories) rmSync(directory, { recursive: true, force: true });
    },
  };
}
