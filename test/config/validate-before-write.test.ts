import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SigstoreConfig } from '../../lib/config/schema';
import { validateConfig } from '../../lib/config/validate';
import { ConfigError } from '../../lib/errors';
import { runBootstrap, synth, synthFromState } from '../../lib/synth';
import { runTufRefresh } from '../../lib/tuf-refresh';
import { devConfig, fixedClock } from '../helpers/config';
import { useTempDirectory } from '../helpers/temp-directory';

/*
 * Issue 9, case 7, for callers that build a configuration without loadConfig (the API, the cdk8s app,
 * tests): every command that writes state or output checks the configuration first, with the same
 * rules as the file, so an invalid one mints nothing.
 */

/** A configuration that never went through the schema: the three examples of case 7 and an IP hostname. */
function handBuilt(): SigstoreConfig {
  const config = devConfig('hand');
  return {
    ...config,
    cluster: { ...config.cluster, trustRootNamespaces: ['forge', 'forge'] },
    services: { ...config.services, fulcio: { ...config.services.fulcio, hostname: '10.0.0.1' } },
    database: { kind: 'external', host: 'db host', port: 3306, name: 'trillian', credentialsSecret: 'trillian-db' },
    oidc: { issuers: [{ url: 'https://ci.example.com', type: 'ci-provider', clientId: 'sigstore' }], tenants: [], metaIssuers: [], ciProviders: {} },
  };
}

function caught(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('validateConfig: the schema, re-applied to a configuration object', () => {
  it('accepts what the schema produced, durations included', () => {
    expect(() => validateConfig(devConfig())).not.toThrow();
  });

  it('names every bad field of a hand-built configuration at once, by field path', () => {
    const error = caught(() => validateConfig(handBuilt()));
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).problems.map((problem) => problem.path);
    expect(paths.sort()).toEqual(['cluster.trustRootNamespaces[1]', 'database.host', 'oidc.issuers[0].ciProvider', 'services.fulcio.hostname']);
    expect((error as ConfigError).message).toContain('environment "hand" has 4 invalid fields');
  });

  it('checks a configuration that passed again once it was changed in place (a run checks each object once while it is unchanged)', () => {
    const config = devConfig();
    validateConfig(config);
    validateConfig(config); // unchanged: passes again
    (config.services.fulcio as { hostname: string }).hostname = '10.0.0.1';
    const error = caught(() => validateConfig(config));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((problem) => problem.path)).toEqual(['services.fulcio.hostname']);
  });

  it('refuses an environment name that is not a plain name (it becomes a state path)', () => {
    expect(caught(() => validateConfig({ ...devConfig(), env: '../other' }))).toMatchObject({ code: 'ENV_NAME_INVALID' });
  });
});

describe('commands that write check the configuration before the first byte', () => {
  const temp = useTempDirectory();
  const clock = fixedClock();

  it.each([
    ['synth', (root: string) => synth({ config: handBuilt(), stateRoot: join(root, '.sigstore'), outDir: join(root, 'dist'), cloudOutDir: join(root, 'cdktf.out'), clock })],
    ['bootstrap', (root: string) => runBootstrap({ config: handBuilt(), stateRoot: join(root, '.sigstore'), clock })],
    ['cdk8s synth', (root: string) => synthFromState({ config: handBuilt(), stateRoot: join(root, '.sigstore'), outDir: join(root, 'dist') })],
    ['tuf refresh', (root: string) => runTufRefresh({ config: handBuilt(), stateRoot: join(root, '.sigstore'), clock })],
  ])('%s', async (_name, run) => {
    await expect(run(temp())).rejects.toMatchObject({ code: 'CONFIG_INVALID', exitCode: 2 });
    expect(readdirSync(temp())).toEqual([]);
    expect(existsSync(join(temp(), '.sigstore'))).toBe(false);
  });
});
