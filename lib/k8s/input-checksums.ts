import { createHash } from 'node:crypto';

/**
 * The pod template annotation that carries the SHA-256 of the ConfigMaps and Secrets a pod reads.
 * Servers read their configuration once, at start (Fulcio 1.8.8 does not watch its OIDC config), so
 * a changed input must change the pod template, or `kubectl apply` changes the ConfigMap and no pod
 * ever reads it. With the checksum, exactly the pods whose inputs changed roll.
 */
export const INPUT_CHECKSUM_ANNOTATION = 'sigstore-cdk/inputs-sha256';

/**
 * Kinds whose pod template rolls when it changes. Jobs are left out on purpose: a Job's pod template
 * is immutable, so an annotation that changed would make `kubectl apply` fail on a Job that has not
 * yet been deleted (they are, 10 minutes after finishing), and every Job of the chart reads its inputs
 * afresh each time it is re-created.
 */
const ROLLING_KINDS: Readonly<Record<string, readonly string[]>> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export type Json = Record<string, unknown>;

/** `ConfigMap/<name>` or `Secret/<name>` of a namespace. */
type InputKey = string;

/**
 * Annotates the pod template of every Deployment, StatefulSet, DaemonSet and CronJob in `documents`
 * (the rendered manifests, `chart.toJson()` of every chart, changed in place) with
 * INPUT_CHECKSUM_ANNOTATION: the SHA-256 over the names and data of the ConfigMaps and Secrets it
 * mounts or reads into its environment (volumes, projected volumes, `env[].valueFrom`, `envFrom`,
 * init containers included), as the documents hold them. Inputs that the documents do not hold (an
 * operator's database Secret, say) count by name only: their content is not known at synth.
 * Working on the rendered documents renders each object once: cdk8s's toJson (token resolution,
 * key sorting) was the costliest part of a synth after YAML, and ran twice per object before.
 */
export function annotateInputChecksums(documents: readonly Json[]): void {
  const inputs = new Map<InputKey, unknown>();
  for (const json of documents) {
    if (json.kind !== 'ConfigMap' && json.kind !== 'Secret') continue;
    inputs.set(inputKey(json.kind, namespaceOf(json), String((json.metadata as Json).name)), inputContent(json));
  }
  for (const json of documents) {
    const templatePath = ROLLING_KINDS[String(json.kind)];
    if (!templatePath) continue;
    const template = dig(json, templatePath) as Json | undefined;
    if (!template) continue;
    const namespace = namespaceOf(json);
    const references = [...new Set(podInputs((template.spec ?? {}) as Json).map(({ kind, name }) => inputKey(kind, namespace, name)))].sort();
    const digest = createHash('sha256');
    for (const reference of references) {
      digest.update(`${reference}\n`);
      digest.update(`${canonicalJson(inputs.has(reference) ? inputs.get(reference) : null)}\n`);
    }
    // Last in the template's annotations (or metadata), where a JSON patch after cdk8s's key sort put it.
    const metadata = (template.metadata ??= {}) as Json;
    const annotations = (metadata.annotations ??= {}) as Json;
    annotations[INPUT_CHECKSUM_ANNOTATION] = digest.digest('hex');
  }
}

function inputKey(kind: string, namespace: string, name: string): InputKey {
  return `${kind}/${namespace}/${name}`;
}

function namespaceOf(json: Json): string {
  return String((json.metadata as Json | undefined)?.namespace ?? '');
}

/** What a pod sees of a ConfigMap or Secret: its data (stringData and data alike). */
function inputContent(json: Json): unknown {
  return { data: json.data ?? null, binaryData: json.binaryData ?? null, stringData: json.stringData ?? null };
}

/** Every ConfigMap and Secret a pod spec reads. */
export function podInputs(spec: Json): { kind: 'ConfigMap' | 'Secret'; name: string }[] {
  const found: { kind: 'ConfigMap' | 'Secret'; name: string }[] = [];
  const configMap = (name: unknown) => typeof name === 'string' && found.push({ kind: 'ConfigMap', name });
  const secret = (name: unknown) => typeof name === 'string' && found.push({ kind: 'Secret', name });
  for (const volume of (spec.volumes ?? []) as Json[]) {
    configMap((volume.configMap as Json | undefined)?.name);
    secret((volume.secret as Json | undefined)?.secretName);
    for (const source of ((volume.projected as Json | undefined)?.sources ?? []) as Json[]) {
      configMap((source.configMap as Json | undefined)?.name);
      secret((source.secret as Json | undefined)?.name);
    }
  }
  for (const container of [...((spec.initContainers ?? []) as Json[]), ...((spec.containers ?? []) as Json[])]) {
    for (const variable of (container.env ?? []) as Json[]) {
      const from = variable.valueFrom as Json | undefined;
      configMap((from?.configMapKeyRef as Json | undefined)?.name);
      secret((from?.secretKeyRef as Json | undefined)?.name);
    }
    for (const source of (container.envFrom ?? []) as Json[]) {
      configMap((source.configMapRef as Json | undefined)?.name);
      secret((source.secretRef as Json | undefined)?.name);
    }
  }
  return found;
}

function dig(value: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Json)[key] : undefined), value);
}

/** JSON with sorted keys: the same content gives the same bytes, whatever the construction order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Json)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
