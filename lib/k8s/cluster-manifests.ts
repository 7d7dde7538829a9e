import { App } from 'cdk8s';
import { PRIVATE_FILE_MODE } from '../state/atomic';
import type { OutputFile } from '../trust/trust-outputs';
import { annotateInputChecksums, type Json } from './input-checksums';
import { manifestYaml } from './manifest-yaml';
import { SigstoreChart, SigstoreSecretsChart, type SigstoreChartInput } from './sigstore-chart';

/**
 * The manifest files in `dist/`. `kubectl apply -f dist/` reads them in name order: the public file
 * (which starts with the Namespace) sorts before the Secrets file ("sigstore.k" < "sigstore.s").
 * `dist/trust/` is a subdirectory, which a non-recursive apply skips.
 */
export const PUBLIC_MANIFEST_FILE = 'sigstore.k8s.yaml';
export const SECRETS_MANIFEST_FILE = 'sigstore.secrets.k8s.yaml';

export interface ClusterCharts {
  readonly app: App;
  readonly chart: SigstoreChart;
  readonly secrets: SigstoreSecretsChart;
}

/** Builds the two charts in a fresh cdk8s App (nothing is written). */
export function buildClusterCharts(input: SigstoreChartInput): ClusterCharts {
  // outdir is never written to: files are rendered with clusterManifestFiles().
  const app = new App({ outdir: 'dist' });
  const secrets = new SigstoreSecretsChart(app, 'sigstore-secrets', { namespace: input.config.cluster.namespace });
  const chart = new SigstoreChart(app, 'sigstore', { ...input, secrets });
  return { app, chart, secrets };
}

/**
 * The documents of both charts, each object rendered once (cdk8s's toJson), with every rolling pod
 * template annotated with the hash of what it reads: a changed ConfigMap or Secret rolls its pods.
 */
export function clusterDocuments(charts: ClusterCharts): { readonly public: Json[]; readonly secrets: Json[] } {
  const rendered = { public: charts.chart.toJson() as Json[], secrets: charts.secrets.toJson() as Json[] };
  annotateInputChecksums([...rendered.public, ...rendered.secrets]);
  return rendered;
}

/** Rendered documents as one YAML stream, in the order given. */
export function documentsYaml(documents: readonly Json[]): string {
  // js-yaml's output (lib/k8s/manifest-yaml.ts), not cdk8s's Yaml.stringify (the yaml package, three
  // times slower). Strings that YAML 1.1 readers (kubectl's go-yaml) would take for booleans, numbers
  // or null ("yes", "on", "0777", "~") are quoted; no anchors or aliases; no line folding.
  return documents.map(manifestYaml).join('---\n');
}

/** The manifest files: the public one (0644) and the Secrets (0600). */
export function clusterManifestFiles(input: SigstoreChartInput): OutputFile[] {
  const documents = clusterDocuments(buildClusterCharts(input));
  return [
    { path: PUBLIC_MANIFEST_FILE, content: documentsYaml(documents.public) },
    { path: SECRETS_MANIFEST_FILE, content: documentsYaml(documents.secrets), mode: PRIVATE_FILE_MODE },
  ];
}
