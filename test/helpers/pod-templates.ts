import { parseAllDocuments } from 'yaml';

/* eslint-disable @typescript-eslint/no-explicit-any */

/** Every pod template of a manifest file's text (`dist/sigstore.k8s.yaml`), by `Kind/name`. */
export function podTemplatesOf(manifest: string): Map<string, unknown> {
  const templates = new Map<string, unknown>();
  for (const document of parseAllDocuments(manifest)) {
    const object = document.toJS() as any;
    if (!object) continue;
    const template = object.kind === 'CronJob' ? object.spec?.jobTemplate?.spec?.template : object.spec?.template;
    if (template) templates.set(`${object.kind}/${object.metadata.name}`, template);
  }
  return templates;
}

/**
 * The pod templates (`Kind/name`, sorted) that differ between two manifests: what `kubectl apply` of
 * the second over the first rolls. A template only one side has counts as changed.
 */
export function changedPodTemplates(before: string, after: string): string[] {
  const a = podTemplatesOf(before);
  const b = podTemplatesOf(after);
  return [...new Set([...a.keys(), ...b.keys()])].filter((key) => JSON.stringify(a.get(key)) !== JSON.stringify(b.get(key))).sort();
}
