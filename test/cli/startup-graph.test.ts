import { startupGraph } from '../helpers/startup-graph';

/**
 * Issue 14: a command loads what it needs. What the CLI evaluates at every start (the modules
 * reachable through static imports from bin/sigstore-cdk.ts) holds what a synth with the local
 * signer runs, and not the modules of other commands or of OTC KMS, which lib/ requires on first use.
 */
describe('what bin/compiled/sigstore-cdk.js evaluates at start', () => {
  const LOADED_ON_USE = [
    // the OTC client stack: only a signer "otc-kms", a sealed state or `keys ensure` connect (lib/otc/kms-connection.ts)
    'lib/otc/kms-client.ts',
    'lib/otc/http-client.ts',
    'lib/otc/aksk-signer.ts',
    'lib/otc/iam-token.ts',
    // commands other than synth and bootstrap (lib/cli/main.ts)
    'lib/commands/rotate.ts',
    'lib/commands/rotate-tuf-root.ts',
    'lib/commands/migrate-log.ts',
    'lib/commands/cloud-tofu.ts',
    'lib/commands/state-upgrade.ts',
    'lib/commands/state-remote.ts',
    'lib/commands/state-archive.ts',
    'lib/commands/smoke.ts',
    'lib/verify.ts',
    'lib/lifecycle/root-key-generations.ts',
    'lib/cloud/cloud-output.ts',
    // synth's and bootstrap's: the cluster charts (cdk8s, cdk8s-plus-28)
    'lib/synth.ts',
    'lib/k8s/cluster-manifests.ts',
    'node_modules/cdk8s-plus-28/lib/index.js',
  ];

  it.each(LOADED_ON_USE)('%s: in the bundle, evaluated only when a command needs it', async (path) => {
    const graph = await startupGraph();
    expect(graph.bundled.has(path)).toBe(true);
    expect(graph.reachedFrom('bin/sigstore-cdk.ts').has(path)).toBe(false);
  });

  it('evaluates what every command shares: the config, the state, custody, the TUF repository; synth adds the charts', async () => {
    const graph = await startupGraph();
    for (const path of ['lib/config/load.ts', 'lib/state/store.ts', 'lib/custody/check-custody.ts', 'lib/trust/tuf/repository.ts']) {
      expect(graph.reachedFrom('bin/sigstore-cdk.ts').has(path)).toBe(true);
    }
    for (const path of ['lib/k8s/cluster-manifests.ts', 'node_modules/cdk8s-plus-28/lib/index.js', 'lib/trust/trust-outputs.ts']) {
      expect(graph.reachedFrom('lib/synth.ts').has(path)).toBe(true);
    }
  });
});

describe('what the programs bundle of zod', () => {
  // `import { z } from 'zod'` binds zod's namespace object, which holds every export, so esbuild kept
  // all of them: 40 locales, z.compile, the JSON Schema importer (623 kB of zod in the CLI's bundle,
  // read and deserialized at every start; 160 kB with `import * as z`, which lets it keep what is used).
  it.each(['bin/sigstore-cdk.ts', 'bin/k8s.ts', 'bin/cloud.ts'])('%s: the English messages only, no compiler, no JSON Schema importer', async (entry) => {
    const graph = await startupGraph();
    const zod = [...graph.bytesInBundle(entry)].filter(([path]) => path.startsWith('node_modules/zod/'));
    const kept = (pattern: RegExp) => zod.filter(([path, bytes]) => pattern.test(path) && bytes > 0).map(([path]) => path);
    expect(kept(/\/core\/schemas\.js$/)).toEqual(['node_modules/zod/v4/core/schemas.js']);
    expect(kept(/\/locales\/(?!index\.js)/)).toEqual(['node_modules/zod/v4/locales/en.js']);
    expect(zod.filter(([path, bytes]) => /\/(compile|from-json-schema)\.js$/.test(path) && bytes > 1000)).toEqual([]);
    expect(zod.reduce((sum, [, bytes]) => sum + bytes, 0)).toBeLessThan(200_000);
  });
});
