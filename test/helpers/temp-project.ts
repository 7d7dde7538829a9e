import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { childEnvironment, REPO_ROOT } from './cli-process';
import { copyFixtureState } from './fixture-state';

/** The repository this test suite belongs to (cli-process.ts's; the tests that make temp projects take it from here too). */
export { REPO_ROOT };

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
  // A minimal environment: a GIT_DIR or GIT_INDEX_FILE of the caller's (npm test run from a git hook) would aim git elsewhere.
  const env = childEnvironment({ HOME: directory, GIT_CONFIG_NOSYSTEM: '1' });
  const result = spawnSync('git', args, { cwd: directory, encoding: 'utf8', env });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** What `git add -A` would stage: every untracked or changed path, one per line (`git status --porcelain`). */
export function gitWouldStage(directory: string): string[] {
  return git(directory, 'status', '--porcelain', '--untracked-files=all')
    .split('\n')
    .filter((line) => line.length > 0);
}
