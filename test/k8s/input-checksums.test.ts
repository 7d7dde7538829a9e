import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INPUT_CHECKSUM_ANNOTATION, podInputs } from '../../lib/k8s/input-checksums';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { fixtureMaterial } from '../helpers/fixture-state';
import { PRODUCTION_LIKE_YAML, TEST_PASSWORDS, chartInput, synthesizeCluster, type SynthesizedCluster } from './cluster-fixture';
import type { KubeObject } from './kubernetes-schema';

/* eslint-disable @typescript-eslint/no-explicit-any */

let directory: string;
let material: PkiMaterial;
let base: SynthesizedCluster;
beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-checksums-'));
  material = await fixtureMaterial(directory);
  base = synthesizeCluster(chartInput(material, PRODUCTION_LIKE_YAML));
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** Every pod template of the public manifest, by `Kind/name`. */
function podTemplates(cluster: SynthesizedCluster): Map<string, any> {
  const templates = new Map<string, any>();
  for (const object of cluster.public as any[]) {
    const template = object.kind === 'CronJob' ? object.spec.jobTemplate.spec.template : object.spec?.template;
    if (template) templates.set(`${object.kind}/${object.metadata.name}`, template);
  }
  return templates;
}

/** The pod templates that differ between two syntheses. */
function changedTemplates(before: SynthesizedCluster, after: SynthesizedCluster): string[] {
  const a = podTemplates(before);
  const b = podTemplates(after);
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  return [...a.keys()].filter((key) => JSON.stringify(a.get(key)) !== JSON.stringify(b.get(key))).sort();
}

function object(cluster: SynthesizedCluster, kind: string, name: string): any {
  const found = [...cluster.public, ...cluster.secrets].find((candidate: KubeObject) => candidate.kind === kind && candidate.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}

describe('input checksums on pod templates', () => {
  it('every Deployment and CronJob pod template carries the checksum; Jobs (immutable templates) do not', () => {
    const withProber = synthesizeCluster(chartInput(material, `${PRODUCTION_LIKE_YAML}observability:\n  prober: { enabled: true }\n`));
    const templates = podTemplates(withProber);
    expect([...templates.keys()].filter((key) => key.startsWith('CronJob/'))).toEqual(['CronJob/sigstore-prober']);
    for (const [key, template] of templates) {
      const annotation = template.metadata?.annotations?.[INPUT_CHECKSUM_ANNOTATION];
      if (key.startsWith('Job/')) expect({ key, annotation }).toEqual({ key, annotation: undefined });
      else expect({ key, annotation }).toEqual({ key, annotation: expect.stringMatching(/^[0-9a-f]{64}$/) });
    }
  });

  it('each server reads ConfigMaps and Secrets, so its checksum covers something', () => {
    for (const name of ['fulcio', 'rekor', 'ctlog', 'tsa', 'tuf', 'trillian-log-server']) {
      expect({ name, inputs: podInputs(object(base, 'Deployment', name).spec.template.spec).length > 0 }).toEqual({ name, inputs: true });
    }
  });

  it('changing one OIDC issuer changes Fulcio\'s pod template, and no other', () => {
    const changedYaml = PRODUCTION_LIKE_YAML.replace('url: https://gitlab.example.com, type: gitlab-pipeline', 'url: https://gitlab2.example.com, type: gitlab-pipeline');
    expect(changedYaml).not.toBe(PRODUCTION_LIKE_YAML);
    const changed = synthesizeCluster(chartInput(material, changedYaml));
    expect(JSON.stringify(object(changed, 'ConfigMap', 'fulcio-config').data)).not.toBe(JSON.stringify(object(base, 'ConfigMap', 'fulcio-config').data));
    expect(changedTemplates(base, changed)).toEqual(['Deployment/fulcio']);
    const annotation = (cluster: SynthesizedCluster) => object(cluster, 'Deployment', 'fulcio').spec.template.metadata.annotations[INPUT_CHECKSUM_ANNOTATION];
    expect(annotation(changed)).not.toBe(annotation(base));
  });

  it('changing a Secret (the Redis password) rolls exactly the pods that read it: Rekor and Redis', () => {
    const changed = synthesizeCluster({ ...chartInput(material, PRODUCTION_LIKE_YAML), passwords: { ...TEST_PASSWORDS, redisPassword: 'another-test-only-redis-password' } });
    expect(changedTemplates(base, changed)).toEqual(['Deployment/rekor', 'Deployment/rekor-redis']);
  });

  it('the same inputs give the same checksums (a second synthesis changes nothing)', () => {
    const again = synthesizeCluster(chartInput(material, PRODUCTION_LIKE_YAML));
    expect(changedTemplates(base, again)).toEqual([]);
  });

  it('reads volumes, projected volumes, env valueFrom and envFrom, init containers included', () => {
    const spec = {
      volumes: [{ configMap: { name: 'a' } }, { secret: { secretName: 'b' } }, { projected: { sources: [{ configMap: { name: 'c' } }, { secret: { name: 'd' } }] } }],
      initContainers: [{ env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'e', key: 'k' } } }] }],
      containers: [{ env: [{ name: 'Y', valueFrom: { configMapKeyRef: { name: 'f', key: 'k' } } }, { name: 'Z', value: 'plain' }], envFrom: [{ configMapRef: { name: 'g' } }, { secretRef: { name: 'h' } }] }],
    };
    expect(podInputs(spec)).toEqual([
      { kind: 'ConfigMap', name: 'a' },
      { kind: 'Secret', name: 'b' },
      { kind: 'ConfigMap', name: 'c' },
      { kind: 'Secret', name: 'd' },
      { kind: 'Secret', name: 'e' },
      { kind: 'ConfigMap', name: 'f' },
      { kind: 'ConfigMap', name: 'g' },
      { kind: 'Secret', name: 'h' },
    ]);
  });
});
