import { App, type Chart } from 'cdk8s';
import { dump } from 'js-yaml';
import { PRIVATE_FILE_MODE } from '../state/atomic';
import type { OutputFile } from '../trust/trust-outputs';
import { annotateInputChecksums } from './input-checksums';
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
  // Every rolling pod template names the hash of what it reads: a changed ConfigMap or Secret rolls its pods.
  annotateInputChecksums([chart, secrets]);
  return { app, chart, secrets };
}

/** One chart as YAML documents, in the order cdk8s synthesizes them. */
export function chartYaml(chart: Chart): string {
  // js-yaml, not cdk8s's Yaml.stringify (the yaml package): the same documents in a third of the time
  // of a cold run. Strings that YAML 1.1 readers (kubectl's go-yaml) would take for booleans, numbers
  // or null ("yes", "on", "0777", "~") are quoted; no anchors or aliases; no line folding.
  return chart
    .toJson()
    .map((document) => dump(document, { lineWidth: -1, noRefs: true }))
    .join('---\n');
}

/** The manifest files: the public one (0644) and the Secrets (0600). */
export function clusterManifestFiles(input: SigstoreChartInput): OutputFile[] {
  const { chart, secrets } = buildClusterCharts(input);
  return [
    { path: PUBLIC_MANIFEST_FILE, content: chartYaml(chart) },
    { path: SECRETS_MANIFEST_FILE, content: chartYaml(secrets), mode: PRIVATE_FILE_MODE },
  ];
}
