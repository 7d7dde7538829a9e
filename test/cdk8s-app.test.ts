import { existsSync, lstatSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_MANIFESTS_FILE, runCdk8sApp } from '../lib/cdk8s-app';
import { PUBLIC_MANIFEST_FILE, SECRETS_MANIFEST_FILE } from '../lib/k8s/cluster-manifests';
import { OUTPUT_MARKER_FILE } from '../lib/output/output-directory';
import { copyFixtureState, fixtureConfig } from './helpers/fixture-state';
import { useTempDirectory } from './helpers/temp-directory';

describe('the cdk8s app: dist/ is its own, the cdk8s CLI gets what it lists or prints', () => {
  const temp = useTempDirectory();
  const run = (cliOutDir: string | undefined, stateRoot: string) =>
    runCdk8sApp({ config: fixtureConfig(), stateRoot, outDir: join(temp(), 'dist'), cliOutDir, cliConfiguredOutDir: join(temp(), '.cdk8s.out') });

  it("under the CLI's own directory: writes dist/ and links its two manifests there", async () => {
    const result = await run(join(temp(), '.cdk8s.out'), copyFixtureState(temp()));
    expect(result).toMatchObject({ wrote: 'dist', directory: join(temp(), 'dist') });
    expect(existsSync(join(temp(), 'dist', OUTPUT_MARKER_FILE))).toBe(true);
    expect(readdirSync(join(temp(), '.cdk8s.out')).sort()).toEqual([PUBLIC_MANIFEST_FILE, SECRETS_MANIFEST_FILE]);
    for (const name of [PUBLIC_MANIFEST_FILE, SECRETS_MANIFEST_FILE]) {
      expect(lstatSync(join(temp(), '.cdk8s.out', name)).isSymbolicLink()).toBe(true);
      expect(readFileSync(join(temp(), '.cdk8s.out', name))).toEqual(readFileSync(join(temp(), 'dist', name)));
    }
  });

  it('under any other directory (--stdout): one stream of every object, 0600, and dist/ untouched', async () => {
    const stateRoot = copyFixtureState(temp());
    const result = await run(join(temp(), 'cdk8s-tmp'), stateRoot);
    expect(result).toEqual({ wrote: 'manifests', directory: join(temp(), 'cdk8s-tmp'), files: [ALL_MANIFESTS_FILE] });
    expect(existsSync(join(temp(), 'dist'))).toBe(false);
    const path = join(temp(), 'cdk8s-tmp', ALL_MANIFESTS_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await run(undefined, stateRoot);
    const dist = (name: string) => readFileSync(join(temp(), 'dist', name), 'utf8');
    expect(readFileSync(path, 'utf8')).toBe(`${dist(PUBLIC_MANIFEST_FILE)}---\n${dist(SECRETS_MANIFEST_FILE)}`);
  });

  it("with cdk8s.yaml's output still dist (the CLI has just deleted it): writes dist/, no links", async () => {
    const result = await runCdk8sApp({ config: fixtureConfig(), stateRoot: copyFixtureState(temp()), outDir: join(temp(), 'dist'), cliOutDir: join(temp(), 'dist'), cliConfiguredOutDir: join(temp(), 'dist') });
    expect(result.wrote).toBe('dist');
    expect(lstatSync(join(temp(), 'dist', PUBLIC_MANIFEST_FILE)).isFile()).toBe(true);
  });
});
