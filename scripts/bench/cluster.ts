import { join } from 'node:path';
import { parseConfigText } from '../../lib/config/load';
import { clusterManifestFiles } from '../../lib/k8s/cluster-manifests';
import { mintServicePasswords, readServicePasswords } from '../../lib/k8s/service-passwords';
import { bootstrap } from '../../lib/pki/bootstrap';
import { LocalRootKeys } from '../../lib/pki/root-keys';
import { StateStore } from '../../lib/state/store';
import { timeRuns, type BenchCase } from './harness';

/** A production-shaped environment: every component, two replicas, tenants, a mirror, trust-root namespaces. */
const PRODUCTION_SHAPED = `
organization: Bench Org
services:
  fulcio: { replicas: 2, hostname: fulcio.example.com }
  rekor: { replicas: 2, hostname: rekor.example.com }
  ctlog: { replicas: 2, hostname: ctlog.example.com }
  tsa: { replicas: 2, hostname: tsa.example.com }
  tuf: { replicas: 2, hostname: tuf.example.com }
  trillian: { logServerReplicas: 2, logSignerReplicas: 2, treeIds: { rekor: "1234567890123456789", ctlog: "987654321098765432" } }
cluster: { trustRootNamespaces: [forge-prd, forge-stg] }
images: { mirror: { registry: swr.eu-de.otc.t-systems.com, organization: bench } }
oidc:
  tenants:
    - { name: a, issuers: [{ url: https://a.example.com }] }
    - { name: b, issuers: [{ url: https://b.example.com }] }
`;

/**
 * The cluster chart, in-process: building every construct and rendering both manifests (public and
 * Secrets) from a minted state, without the state I/O or process start-up that `synth` adds.
 */
export const clusterBench: BenchCase = async ({ runs, tempDirectory }) => {
  const directory = tempDirectory();
  const config = { ...parseConfigText(PRODUCTION_SHAPED, 'envs/bench.yaml'), env: 'bench' };
  const store = new StateStore({ root: join(directory, '.sigstore'), env: 'bench' });
  const { material } = await bootstrap({ config, store, rootKeys: new LocalRootKeys() });
  const snapshot = await store.load();
  mintServicePasswords(snapshot, new Date());
  const passwords = readServicePasswords(snapshot);
  let bytes = 0;
  let objects = 0;
  const measurement = await timeRuns('cluster chart in-process (build + render YAML)', runs, () => {
    const files = clusterManifestFiles({ config, material, passwords });
    bytes = files.reduce((sum, file) => sum + Buffer.byteLength(file.content), 0);
    objects = files.reduce((sum, file) => sum + (file.content.match(/^kind: /gm) ?? []).length, 0);
  });
  return [{ ...measurement, notes: `${objects} objects, ${(bytes / 1024).toFixed(0)} KiB of YAML` }];
};
