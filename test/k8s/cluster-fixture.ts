import { loadAll } from 'js-yaml';
import { PUBLIC_MANIFEST_FILE, SECRETS_MANIFEST_FILE, clusterManifestFiles } from '../../lib/k8s/cluster-manifests';
import type { ServicePasswords } from '../../lib/k8s/service-passwords';
import type { SigstoreChartInput } from '../../lib/k8s/sigstore-chart';
import type { PkiMaterial } from '../../lib/pki/state-items';
import type { OutputFile } from '../../lib/trust/trust-outputs';
import { fixtureConfig } from '../helpers/fixture-state';
import { deepFreeze } from '../helpers/frozen';
import type { KubeObject } from './kubernetes-schema';

/** Fixed, test-only service passwords (snapshots stay stable; they never reach a public file). */
export const TEST_PASSWORDS: ServicePasswords = {
  mysqlRootPassword: 'test-only-mysql-root-password',
  mysqlPassword: 'test-only-mysql-trillian-password',
  redisPassword: 'test-only-redis-password',
};

/** A production-shaped environment: external TLS database, hostnames, mirror, replicas, tenants. */
export const PRODUCTION_LIKE_YAML = `
cluster:
  namespace: sigstore-prd
  trustRootNamespaces: [forge-prd, forge-staging]
  ingressClassName: nginx
  ingressTlsSecret: sigstore-tls
services:
  fulcio: { replicas: 2, hostname: fulcio.example.com }
  rekor: { replicas: 2, hostname: rekor.example.com }
  ctlog: { replicas: 2, hostname: ctlog.example.com, prefix: forge }
  tsa: { replicas: 2, hostname: tsa.example.com, ntpMonitoring: true, ntpServers: [ntp1.example.internal, ntp2.example.internal, ntp3.example.internal] }
  tuf: { replicas: 2, hostname: tuf.example.com }
  trillian: { logServerReplicas: 2, logSignerReplicas: 2, treeIds: { rekor: "1234567890123456789", ctlog: "987654321098765432" } }
database:
  kind: external
  host: trillian-db.example.internal
  port: 3307
  name: trillian_prd
  credentialsSecret: trillian-db
  tlsCaSecret: trillian-db-ca
images:
  mirror: { registry: swr.eu-de.otc.t-systems.com, organization: example-forge-prd }
oidc:
  issuers:
    - { url: https://token.actions.githubusercontent.com, type: github-workflow }
  tenants:
    - name: acme-corp
      issuers:
        - { url: "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0" }
        - { url: https://accounts.google.com }
    - name: globex
      issuers:
        - { url: https://accounts.google.com, clientId: sigstore }
        - { url: https://gitlab.example.com, type: gitlab-pipeline }
`;

/** An external database without TLS (createdb then runs against it). */
export const EXTERNAL_PLAIN_DATABASE_YAML = `
database:
  kind: external
  host: 10.1.2.3
  credentialsSecret: trillian-db
`;

export function chartInput(material: PkiMaterial, extraYaml = '', tufFiles?: readonly OutputFile[]): SigstoreChartInput {
  return { config: fixtureConfig(extraYaml), material, passwords: TEST_PASSWORDS, tufFiles };
}

export interface SynthesizedCluster {
  readonly files: OutputFile[];
  /** Objects of the public manifest, in file order. */
  readonly public: KubeObject[];
  /** Objects of the Secrets manifest. */
  readonly secrets: KubeObject[];
}

/**
 * The objects of the manifest `text`, parsed once per text in this module registry (a test file, or
 * a grouped suite of them): most tests synthesize the same few inputs, and parsing the YAML was 2.6 s
 * of a run's CPU. The objects are frozen (deepFreeze): a test that changed one would throw instead
 * of changing what another test reads.
 *
 * Read with js-yaml's loader: 6 ms for the dev manifest against 37 ms for yaml's parseAllDocuments,
 * with the same objects (measured on the 2-core machine). What a YAML 1.1 reader such as kubectl
 * makes of each manifest is checked with yaml itself in manifest-yaml.test.ts.
 */
const parsedManifests = new Map<string, readonly KubeObject[]>();

export function parseManifest(text: string): KubeObject[] {
  let objects = parsedManifests.get(text);
  if (objects === undefined) {
    objects = deepFreeze(loadAll(text) as KubeObject[]);
    parsedManifests.set(text, objects);
  }
  return objects as KubeObject[];
}

/**
 * What synthesizeCluster rendered in this module registry, by the PKI material (its identity: it
 * holds KeyObjects) and the rest of the input (its JSON). Rendering is a pure function of the input,
 * and most chart tests render one of a few inputs: a grouped suite rendered the same one up to 9
 * times, 36 of 72 renders in a run (2.8 s of CPU). Whether two renders of one input give the same
 * bytes is a test of its own (cluster-synth.test.ts, through synth). Frozen, as parseManifest's.
 */
const synthesized = new WeakMap<PkiMaterial, Map<string, SynthesizedCluster>>();

export function synthesizeCluster(input: SigstoreChartInput): SynthesizedCluster {
  const { material, ...rest } = input;
  let byInput = synthesized.get(material);
  if (byInput === undefined) synthesized.set(material, (byInput = new Map()));
  const key = JSON.stringify(rest);
  let cluster = byInput.get(key);
  if (cluster === undefined) {
    const files = deepFreeze(clusterManifestFiles(input));
    const text = (path: string) => files.find((file) => file.path === path)!.content;
    cluster = Object.freeze({ files, public: parseManifest(text(PUBLIC_MANIFEST_FILE)), secrets: parseManifest(text(SECRETS_MANIFEST_FILE)) });
    byInput.set(key, cluster);
  }
  return cluster;
}

/** Finds one object by kind and name (and namespace, if given); throws if absent. */
export function find<T = any>(objects: readonly KubeObject[], kind: string, name: string, namespace?: string): T {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name && (!namespace || object.metadata.namespace === namespace));
  if (!found) throw new Error(`no ${kind} ${name} among ${objects.map((object) => `${object.kind}/${object.metadata.name}`).join(', ')}`);
  return found as T;
}

