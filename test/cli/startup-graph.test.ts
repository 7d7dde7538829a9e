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
