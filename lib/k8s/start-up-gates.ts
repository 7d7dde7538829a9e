/*
 * The start-up gates, read from the manifests themselves: a pod whose environment takes a key of a
 * ConfigMap that the applied manifest does not hold waits (CreateContainerConfigError) until a Job
 * of the stack writes that key in the cluster. The README's table is this list (a test compares them).
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One gate: a workload that waits for a key written in the cluster, and the Job that writes it. */
export interface StartUpGate {
  /** `Deployment/rekor` */
  readonly workload: string;
  /** `ConfigMap rekor-tree, key treeID` */
  readonly waitsFor: string;
  /** `Job/rekor-createtree` */
  readonly writtenBy: string;
}

/** The gates of the objects of a public manifest, sorted by workload. */
export function startUpGates(objects: readonly Json[]): StartUpGate[] {
  const configMaps = new Map<string, Json>(objects.filter((object) => object.kind === 'ConfigMap').map((object) => [object.metadata.name, object]));
  const jobs = objects.filter((object) => object.kind === 'Job');
  const gates: StartUpGate[] = [];
  for (const object of objects) {
    if (object.kind !== 'Deployment' && object.kind !== 'Job') continue;
    const spec = object.spec?.template?.spec ?? {};
    for (const container of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      for (const variable of container.env ?? []) {
        const reference = variable.valueFrom?.configMapKeyRef;
        if (!reference || reference.optional) continue;
        const configMap = configMaps.get(reference.name);
        if (!configMap || reference.key in (configMap.data ?? {})) continue;
        const writer = jobs.find((job) => JSON.stringify(job.spec?.template?.spec?.containers ?? []).includes(`--configmap=${reference.name}`));
        const gate = { workload: `${object.kind}/${object.metadata.name}`, waitsFor: `ConfigMap ${reference.name}, key ${reference.key}`, writtenBy: writer ? `Job/${writer.metadata.name}` : 'nothing in the stack' };
        if (!gates.some((existing) => JSON.stringify(existing) === JSON.stringify(gate))) gates.push(gate);
      }
    }
  }
  return gates.sort((a, b) => (a.workload < b.workload ? -1 : a.workload > b.workload ? 1 : a.waitsFor < b.waitsFor ? -1 : 1));
}
