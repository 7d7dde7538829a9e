import 'reflect-metadata';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IMAGES, imageReference } from '../../lib/config/images';
import { REKOR_TILES_FLAGS } from '../../lib/k8s/rekor-tiles';
import { SECRET_ARGV_EXCEPTIONS } from '../../lib/k8s/server-inputs';
import { TESSERACT_FLAGS } from '../../lib/k8s/tesseract';
import { publicKeysEqual } from '../../lib/pki/keys';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { fixtureConfig, fixtureMaterial } from '../helpers/fixture-state';
import { TILES_PUBLIC_YAML, TILES_YAML, withTileLogKeys } from '../helpers/tile-log-fixture';
import { TEST_PASSWORDS, chartInput, find, synthesizeCluster, type SynthesizedCluster } from './cluster-fixture';
import { schemaErrors, unknownFieldChecker, type KubeObject, type UnknownFieldChecker } from './kubernetes-schema';
import {
  addressProblems,
  containersOf,
  imageProblems,
  podTemplates,
  referenceProblems,
  secretArgvReferences,
  securityProblems,
  selectorProblems,
} from './manifest-checks';
import { flowDifferences } from './network-flows';

/* eslint-disable @typescript-eslint/no-explicit-any */

let directory: string;
let material: PkiMaterial;
let unknownFields: UnknownFieldChecker;
beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-tiles-'));
  material = withTileLogKeys(await fixtureMaterial(directory));
  unknownFields = unknownFieldChecker();
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const CONFIGURATIONS: Record<string, string> = {
  'both logs on tiles (in-cluster names)': TILES_YAML,
  'both logs on tiles with public hostnames and storage classes': TILES_PUBLIC_YAML,
  'Rekor v2 beside ct_server on Trillian': 'logs: { rekor: v2 }\n',
  'TesseraCT beside Rekor v1 on Trillian': 'logs: { ct: tesseract }\n',
};

const names = (objects: readonly KubeObject[], kind: string) => objects.filter((object) => object.kind === kind).map((object) => object.metadata.name).sort();
const container = (cluster: SynthesizedCluster, deployment: string) => find(cluster.public, 'Deployment', deployment).spec.template.spec.containers[0];

function redacted(secrets: readonly KubeObject[]): unknown[] {
  return secrets.map((secret: any) => ({
    ...secret,
    stringData: Object.fromEntries(Object.entries(secret.stringData ?? {}).map(([key, value]) => [key, `<redacted: ${String(value).length} characters>`])),
  }));
}

describe.each(Object.entries(CONFIGURATIONS))('tile-based logs, whole output: %s', (_name, yaml) => {
  let cluster: SynthesizedCluster;
  let all: KubeObject[];
  beforeAll(() => {
    cluster = synthesizeCluster(chartInput(material, yaml));
    all = [...cluster.public, ...cluster.secrets];
  });

  it('snapshot of the public manifest and of the Secrets (values redacted)', () => {
    expect(cluster.public).toMatchSnapshot();
    expect(redacted(cluster.secrets)).toMatchSnapshot();
  });

  it('validates against the Kubernetes schemas with no unknown field; references, selectors, addresses, images, pod security hold', () => {
    expect(all.flatMap(schemaErrors)).toEqual([]);
    expect(all.flatMap((object) => unknownFields.unknownFields(object).map((path) => `${object.kind}/${object.metadata.name}: ${path}`))).toEqual([]);
    expect(referenceProblems(all)).toEqual([]);
    expect(selectorProblems(all)).toEqual([]);
    expect(addressProblems(all)).toEqual([]);
    expect(imageProblems(all, new Set(Object.values(IMAGES).map((image) => imageReference(image))))).toEqual([]);
    expect(securityProblems(all)).toEqual([]);
  });

  it('NetworkPolicies allow exactly the flows the objects need', () => {
    expect(flowDifferences(cluster.public, fixtureConfig(yaml).networkPolicy)).toEqual({ missing: [], extra: [] });
  });

  it('puts no secret on a command line but the documented exceptions of the workloads present', () => {
    const workloads = new Set(all.filter((object) => object.kind === 'Deployment' || object.kind === 'Job').map((object) => object.metadata.name));
    const expected = SECRET_ARGV_EXCEPTIONS.filter((exception) => workloads.has(exception.workload)).map(({ workload, container: name, flag, variables }) => ({ workload, container: name, flag, variables }));
    expect(secretArgvReferences(all)).toEqual(expected);
  });

  it('keeps every key out of the public manifest', () => {
    const text = cluster.files.find((file) => file.path === 'sigstore.k8s.yaml')!.content;
    expect(text).not.toMatch(/PRIVATE KEY|ENCRYPTED/);
    for (const key of [material.tileLogs!.rekorV2!.privateKey, material.tileLogs!.tesseract!.privateKey]) expect(text.includes(key.password)).toBe(false);
  });
});

describe('with both logs on tiles', () => {
  let cluster: SynthesizedCluster;
  beforeAll(() => {
    cluster = synthesizeCluster(chartInput(material, TILES_PUBLIC_YAML));
  });

  it('deploys no Trillian, MySQL, Redis or tree Job', () => {
    expect(names(cluster.public, 'Deployment')).toEqual(['ctlog', 'fulcio', 'rekor', 'tsa', 'tuf']);
    expect(names(cluster.public, 'Job')).toEqual([]);
    expect(names(cluster.public, 'Service')).toEqual(['ctlog', 'fulcio', 'rekor', 'tsa', 'tuf']);
    expect(names(cluster.secrets, 'Secret')).toEqual(['ctlog-tesseract-signer', 'fulcio-ca-key', 'fulcio-ca-key-password', 'rekor-tiles-signer', 'tsa-signer', 'tsa-signer-password']);
    const images = podTemplates(cluster.public).flatMap((pod) => containersOf(pod).map(({ container: c }) => c.image as string));
    for (const unwanted of [IMAGES.mysql, IMAGES.redis, IMAGES.trillianLogServer, IMAGES.trillianLogSigner, IMAGES.createtree, IMAGES.createdb, IMAGES.rekor, IMAGES.ctServer]) {
      expect(images).not.toContain(imageReference(unwanted));
    }
  });

  it('runs rekor-tiles with exactly the listed flags, the public hostname as origin, the key file and the volume', () => {
    const rekor = container(cluster, 'rekor');
    expect(rekor.command).toEqual(['/usr/local/bin/rekor-server', 'serve']);
    expect(rekor.args.map((arg: string) => arg.split('=')[0]).sort()).toEqual(Object.keys(REKOR_TILES_FLAGS).sort());
    expect(rekor.args).toEqual(expect.arrayContaining(['--hostname=rekor.example.com', '--http-address=0.0.0.0', '--signer-filepath=/var/run/rekor-signer/signing-key.pem', '--storage-dir=/var/lib/rekor-tiles']));
    expect(rekor.image).toBe(imageReference(IMAGES.rekorTilesPosix));
    expect(rekor.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 3000, scheme: 'HTTP' });
    const deployment = find(cluster.public, 'Deployment', 'rekor');
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
    const claim = find(cluster.public, 'PersistentVolumeClaim', 'rekor-tiles-storage');
    expect(claim.spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '20Gi' } }, storageClassName: 'csi-disk', volumeMode: 'Filesystem' });
    expect(deployment.spec.template.spec.volumes).toEqual(expect.arrayContaining([{ name: 'storage', persistentVolumeClaim: { claimName: 'rekor-tiles-storage', readOnly: false } }]));
  });

  it('runs TesseraCT with exactly the listed flags, origin = log URL without scheme, prefix, roots and key', () => {
    const ctlog = container(cluster, 'ctlog');
    expect(ctlog.command).toBeUndefined();
    expect(ctlog.args.map((arg: string) => arg.split('=')[0]).sort()).toEqual(Object.keys(TESSERACT_FLAGS).sort());
    expect(ctlog.args).toEqual(
      expect.arrayContaining(['--origin=ctlog.example.com/forge', '--path_prefix=forge', '--ext_key_usages=CodeSigning', '--private_key=/var/run/ctlog-signer/private.pem', '--http_endpoint=0.0.0.0:6962']),
    );
    expect(find(cluster.public, 'ConfigMap', 'ctlog-roots').data['roots.pem']).toBe(`${material.fulcio.root.toString('pem')}\n`);
    expect(find(cluster.public, 'Deployment', 'ctlog').spec.strategy).toEqual({ type: 'Recreate' });
    expect(find(cluster.public, 'PersistentVolumeClaim', 'tesseract-storage').spec.resources.requests.storage).toBe('5Gi');
    // Fulcio submits to the same in-cluster URL as with ct_server.
    expect(container(cluster, 'fulcio').args).toContain('--ct-log-url=http://ctlog.sigstore-system.svc/forge');
  });

  it('gives each server its key unencrypted in the form it loads, matching the published public key', () => {
    const rekorPem = find(cluster.secrets, 'Secret', 'rekor-tiles-signer').stringData['signing-key.pem'];
    expect(rekorPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const rekorKey = createPrivateKey(rekorPem);
    expect(rekorKey.asymmetricKeyType).toBe('ed25519');
    expect(publicKeysEqual(createPublicKey(rekorKey), material.tileLogs!.rekorV2!.publicKey)).toBe(true);
    const ctPem = find(cluster.secrets, 'Secret', 'ctlog-tesseract-signer').stringData['private.pem'];
    expect(ctPem).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n(?!Proc-Type)/);
    expect(publicKeysEqual(createPublicKey(createPrivateKey(ctPem)), material.tileLogs!.tesseract!.publicKey)).toBe(true);
  });
});

describe('with one log on tiles', () => {
  it('Rekor v2 beside ct_server keeps Trillian and the CT tree, but no Redis and no Rekor tree', () => {
    const cluster = synthesizeCluster(chartInput(material, 'logs: { rekor: v2 }\n'));
    expect(names(cluster.public, 'Deployment')).toEqual(['ctlog', 'fulcio', 'rekor', 'trillian-log-server', 'trillian-log-signer', 'trillian-mysql', 'tsa', 'tuf']);
    expect(names(cluster.public, 'Job')).toEqual(['ctlog-createtree', 'trillian-createdb']);
    expect(container(cluster, 'rekor').args).toContain('--hostname=rekor.sigstore-system.svc');
  });

  it('TesseraCT beside Rekor v1 keeps Trillian, Redis and the Rekor tree', () => {
    const cluster = synthesizeCluster(chartInput(material, 'logs: { ct: tesseract }\n'));
    expect(names(cluster.public, 'Deployment')).toEqual(['ctlog', 'fulcio', 'rekor', 'rekor-redis', 'trillian-log-server', 'trillian-log-signer', 'trillian-mysql', 'tsa', 'tuf']);
    expect(names(cluster.public, 'Job')).toEqual(['rekor-createtree', 'trillian-createdb']);
    expect(container(cluster, 'ctlog').args).toContain('--origin=ctlog.sigstore-system.svc/sigstore');
  });

  it('refuses a configuration whose tile-log key the material lacks, naming it', () => {
    const { tileLogs: _unused, ...withoutTiles } = material;
    expect(() => synthesizeCluster({ ...chartInput(withoutTiles as PkiMaterial, TILES_YAML), passwords: TEST_PASSWORDS })).toThrow(/lacks rekor-v2-key/);
  });
});

describe('the prober with Rekor v2', () => {
  it('reads the checkpoint and expects the origin on it', () => {
    const cluster = synthesizeCluster(chartInput(material, `${TILES_YAML}observability: { prober: { enabled: true } }\n`));
    const script = find(cluster.public, 'CronJob', 'sigstore-prober').spec.jobTemplate.spec.template.spec.containers[0].command.join(' ');
    expect(script).toContain('http://rekor.sigstore-system.svc/api/v2/checkpoint');
    expect(script).toContain(`grep -q -xF 'rekor.sigstore-system.svc'`);
    expect(flowDifferences(cluster.public, fixtureConfig(`${TILES_YAML}observability: { prober: { enabled: true } }\n`).networkPolicy)).toEqual({ missing: [], extra: [] });
  });
});
