import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { copyFixtureState } from './fixture-state';

/** The repository this test suite belongs to. */
export const REPO_ROOT = join(__dirname, '..', '..');
/** The CLI launcher, run as a process. */
export const CLI_LAUNCHER = join(REPO_ROOT, 'bin', 'sigstore-cdk.js');

export interface TempProjectOptions {
  /** Copy the fixture state (environment `test`) into `.sigstore/`. @default false */
  readonly fixtureState?: boolean;
  /** Extra YAML for envs/test.yaml (the fixture's environment). @default '' */
  readonly testEnvYaml?: string;
  /** More files, relative path → content (written before the git commit). @default - none */
  readonly files?: Readonly<Record<string, string>>;
  /** `git init` and commit everything but the ignored paths. @default false */
  readonly git?: boolean;
}

/**
 * A copy of the project layout in `directory`, as a user's checkout looks: the repository's
 * `.gitignore` and `cdk8s.yaml`, `envs/dev.yaml` and `envs/test.yaml` (the fixture's environment),
 * `bin/`, `scripts/` and `node_modules/` as links to this repository (so `npx cdk8s synth` and `node
 * bin/k8s.js` work), optionally the fixture state and a git repository. Returns `directory`.
 */
export function makeTempProject(directory: string, options: TempProjectOptions = {}): string {
  mkdirSync(join(directory, 'envs'), { recursive: true });
  for (const file of ['.gitignore', 'cdk8s.yaml', 'package.json']) copyFileSync(join(REPO_ROOT, file), join(directory, file));
  copyFileSync(join(REPO_ROOT, 'envs', 'dev.yaml'), join(directory, 'envs', 'dev.yaml'));
  writeFileSync(join(directory, 'envs', 'test.yaml'), `organization: Test Org\nsigner: local\n${options.testEnvYaml ?? ''}`);
  symlinkSync(join(REPO_ROOT, 'bin'), join(directory, 'bin'));
  // `npx sigstore-cdk` runs the package's `prepare` (scripts/build.js --if-stale: a no-op when current).
  symlinkSync(join(REPO_ROOT, 'scripts'), join(directory, 'scripts'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(directory, 'node_modules'));
  if (options.fixtureState) copyFixtureState(directory);
  for (const [path, content] of Object.entries(options.files ?? {})) {
    mkdirSync(dirname(join(directory, path)), { recursive: true });
    writeFileSync(join(directory, path), content);
  }
  if (options.git) {
    git(directory, 'init', '-q');
    git(directory, 'add', '-A');
    git(directory, '-c', 'user.name=test', '-c', 'user.email=test@example.invalid', 'commit', '-q', '-m', 'checkout');
  }
  return directory;
}

/** Runs git in `directory` and returns its stdout; throws on failure. */
export function git(directory: string, ...args: string[]): string {
  const result = spawnSync('git', args, { cwd: directory, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: directory } });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** What `git add -A` would stage: every untracked or changed path, one per line (`git status --porcelain`). */
export function gitWouldStage(directory: string): string[] {
  return git(directory, 'status', '--porcelain', '--untracked-files=all')
    .split('\n')
    .filter((line) => line.length > 0);
}

export interface ProcessRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command as a process (asynchronously, so several can run at once). */
export function runProcess(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** `node bin/sigstore-cdk.js …` in `cwd`. */
export function runCliProcess(cwd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<ProcessRun> {
  return runProcess(process.execPath, [CLI_LAUNCHER, ...args], { cwd, env });
}
