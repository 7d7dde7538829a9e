import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { IMAGES, imageReference } from '../../lib/config/images';
import { parseConfigText } from '../../lib/config/load';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { fixtureMaterial } from '../helpers/fixture-state';
import {
  EXTERNAL_PLAIN_DATABASE_YAML,
  PRODUCTION_LIKE_YAML,
  TEST_PASSWORDS,
  chartInput,
  find,
  synthesizeCluster,
  type SynthesizedCluster,
} from './cluster-fixture';
import { schemaErrors, unknownFieldChecker, type KubeObject, type UnknownFieldChecker } from './kubernetes-schema';
import { SECRET_ARGV_EXCEPTIONS } from '../../lib/k8s/server-inputs';
import {
  addressProblems,
  imageProblems,
  referenceProblems,
  secretArgvReferences,
  secretConsumers,
  securityProblems,
  selectorProblems,
  serviceReferences,
} from './manifest-checks';

/* eslint-disable @typescript-eslint/no-explicit-any */

let directory: string;
let material: PkiMaterial;
let unknownFields: UnknownFieldChecker;
beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-chart-'));
  material = await fixtureMaterial(directory);
  unknownFields = unknownFieldChecker();
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** The configurations every whole-output check runs over. */
const CONFIGURATIONS: Record<string, { yaml: string; namespace: string; operatorSecrets: string[]; mirror?: { registry: string; organization: string } }> = {
  'dev defaults (in-cluster MySQL)': { yaml: '', namespace: 'sigstore-system', operatorSecrets: [] },
  'production-like (external TLS database, hostnames, mirror, HA)': {
    yaml: PRODUCTION_LIKE_YAML,
    namespace: 'sigstore-prd',
    operatorSecrets: ['sigstore-prd/trillian-db', 'sigstore-prd/trillian-db-ca', 'sigstore-prd/sigstore-tls'],
    mirror: { registry: 'swr.eu-de.otc.t-systems.com', organization: 'example-forge-prd' },
  },
  'external database without TLS': { yaml: EXTERNAL_PLAIN_DATABASE_YAML, namespace: 'sigstore-system', operatorSecrets: ['sigstore-system/trillian-db'] },
  'production-like with the ServiceMonitor, the prober and scheduling': {
    yaml: `${PRODUCTION_LIKE_YAML}observability: { serviceMonitor: { enabled: true }, prober: { enabled: true } }
scheduling: { nodeSelector: { pool: sigstore }, tolerations: [{ key: dedicated, operator: Exists }], priorityClassName: sigstore }
`,
    namespace: 'sigstore-prd',
    operatorSecrets: ['sigstore-prd/trillian-db', 'sigstore-prd/trillian-db-ca', 'sigstore-prd/sigstore-tls'],
    mirror: { registry: 'swr.eu-de.otc.t-systems.com', organization: 'example-forge-prd' },
  },
};

/** Secrets with their values replaced by their length: structure in the snapshot, no key material. */
function redacted(secrets: readonly KubeObject[]): unknown[] {
  return secrets.map((secret: any) => ({
    ...secret,
    stringData: Object.fromEntries(Object.entries(secret.stringData ?? {}).map(([key, value]) => [key, `<redacted: ${String(value).length} characters>`])),
  }));
}

describe('SigstoreChart snapshots (fixture state, dev defaults)', () => {
  it('public manifest', () => {
    expect(synthesizeCluster(chartInput(material)).public).toMatchSnapshot();
  });

  it('Secrets manifest (values redacted)', () => {
    expect(redacted(synthesizeCluster(chartInput(material)).secrets)).toMatchSnapshot();
  });
});

describe.each(Object.entries(CONFIGURATIONS))('whole output: %s', (_name, configuration) => {
  let cluster: SynthesizedCluster;
  let all: KubeObject[];
  beforeAll(() => {
    cluster = synthesizeCluster(chartInput(material, configuration.yaml));
    all = [...cluster.public, ...cluster.secrets];
  });

  it('every object validates against the Kubernetes schemas, with no unknown field', () => {
    expect(all.flatMap(schemaErrors)).toEqual([]);
    expect(all.flatMap((object) => unknownFields.unknownFields(object).map((path) => `${object.kind}/${object.metadata.name}: ${path}`))).toEqual([]);
  });

  it('every Secret, ConfigMap and key a pod reads exists, or is written by a tree Job', () => {
    expect(referenceProblems(all, { operatorSecrets: configuration.operatorSecrets })).toEqual([]);
  });

  it('every Service selects pod templates that expose its target ports', () => {
    expect(selectorProblems(all)).toEqual([]);
  });

  it('every in-cluster address resolves to a Service name, namespace and port of the output', () => {
    const references = serviceReferences(all).map((reference) => `${reference.where} -> ${reference.host}:${reference.port}`);
    const ns = configuration.namespace;
    expect(references).toEqual(
      expect.arrayContaining([
        `Deployment ${ns}/fulcio fulcio --ct-log-url -> ctlog.${ns}.svc:80`,
        `Deployment ${ns}/rekor rekor-server --trillian_log_server.address -> trillian-log-server.${ns}.svc:8091`,
        `ConfigMap ${ns}/ctlog-config ct_server.cfg.template -> trillian-log-server.${ns}.svc:8091`,
        `Job ${ns}/rekor-createtree createtree --admin_server -> trillian-log-server.${ns}.svc:8091`,
        `Deployment ${ns}/rekor rekor-server --redis_server.address -> rekor-redis.${ns}.svc:6379`,
      ]),
    );
    expect(addressProblems(all)).toEqual([]);
  });

  it('every image is pinned by digest and comes from the images table (mirrored when configured)', () => {
    const allowed = new Set(Object.values(IMAGES).map((image) => imageReference(image, configuration.mirror)));
    expect(imageProblems(all, allowed)).toEqual([]);
    if (configuration.mirror) {
      for (const deployment of all.filter((object) => object.kind === 'Deployment') as any[]) {
        for (const container of deployment.spec.template.spec.containers) {
          expect(container.image).toMatch(/^swr\.eu-de\.otc\.t-systems\.com\/example-forge-prd\/cache-[a-z0-9_-]+:[^@]+@sha256:[0-9a-f]{64}$/);
        }
      }
    }
  });

  it('every pod is non-root, unprivileged, seccomp RuntimeDefault, read-only, bounded and probed', () => {
    expect(securityProblems(all)).toEqual([]);
  });

  it('has every object in the chart namespace (trust roots aside) and the namespace first, enforcing "restricted"', () => {
    const [first, ...rest] = cluster.public as any[];
    expect(first.kind).toBe('Namespace');
    expect(first.metadata.name).toBe(configuration.namespace);
    expect(first.metadata.namespace).toBeUndefined();
    expect(first.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const object of [...rest, ...cluster.secrets]) {
      if (object.kind === 'ConfigMap' && object.metadata.name === 'sigstore-trust-roots') continue;
      expect(`${object.kind}/${object.metadata.name} in ${object.metadata.namespace}`).toBe(`${object.kind}/${object.metadata.name} in ${configuration.namespace}`);
    }
  });

  it('keeps key material and passwords out of the public manifest', () => {
    const text = cluster.files.find((file) => file.path === 'sigstore.k8s.yaml')!.content;
    expect(cluster.public.some((object) => object.kind === 'Secret')).toBe(false);
    expect(text).not.toMatch(/PRIVATE KEY|ENCRYPTED/);
    for (const secret of [
      material.fulcio.intermediateKey.password,
      material.tsa.leafKey.password,
      material.ctlog.privateKey.password,
      material.rekor.privateKey.password,
      ...Object.values(TEST_PASSWORDS),
    ]) {
      expect(text.includes(secret)).toBe(false);
    }
    expect(cluster.secrets.every((object) => object.kind === 'Secret')).toBe(true);
  });

  it('expands no Secret-sourced variable into a command line, except the documented list (server-inputs.ts)', () => {
    const workloads = new Set(all.filter((object) => object.kind === 'Deployment' || object.kind === 'Job').map((object) => object.metadata.name));
    const expected = SECRET_ARGV_EXCEPTIONS.filter((exception) => workloads.has(exception.workload)).map(({ workload, container, flag, variables }) => ({
      workload,
      container,
      flag,
      variables,
    }));
    expect(secretArgvReferences(all)).toEqual(expected);
  });

  it('names the public Services as the trusted root expects, on port 80', () => {
    for (const name of ['fulcio', 'rekor', 'ctlog', 'tsa', 'tuf']) {
      const service = find(cluster.public, 'Service', name);
      expect(service.spec.ports.find((port: any) => port.name === 'http').port).toBe(80);
    }
  });
});

describe('secrets on command lines, and who reads which Secret', () => {
  it('the documented exceptions are exactly createdb\'s DSN, and it occurs (the list is not stale)', () => {
    expect(SECRET_ARGV_EXCEPTIONS.map((exception) => `${exception.workload}/${exception.container} ${exception.flag}`)).toEqual(['trillian-createdb/createdb --mysql_uri']);
    const dev = synthesizeCluster(chartInput(material));
    expect(secretArgvReferences([...dev.public, ...dev.secrets])).toEqual([
      { workload: 'trillian-createdb', container: 'createdb', flag: '--mysql_uri', variables: ['MYSQL_USER', 'MYSQL_PASSWORD'] },
    ]);
  });

  it('keys and their passwords are separate Secrets, each read only by the workload that needs it', () => {
    const dev = synthesizeCluster(chartInput(material));
    expect(secretConsumers(dev.public)).toEqual({
      'ctlog-signer': ['ctlog'],
      'ctlog-signer-password': ['ctlog'],
      'fulcio-ca-key': ['fulcio'],
      'fulcio-ca-key-password': ['fulcio'],
      'rekor-redis': ['rekor', 'rekor-redis'],
      'rekor-signer': ['rekor'],
      'rekor-signer-password': ['rekor'],
      'trillian-mysql': ['trillian-createdb', 'trillian-log-server', 'trillian-log-signer', 'trillian-mysql'],
      'tsa-signer': ['tsa'],
      'tsa-signer-password': ['tsa'],
    });
    for (const secret of dev.secrets as any[]) {
      const keys = Object.keys(secret.stringData);
      if (keys.some((key) => key.endsWith('.pem'))) expect([secret.metadata.name, keys]).toEqual([secret.metadata.name, [keys[0]]]);
    }
    // The CT log's password reaches only the init container that renders the config; the server mounts only the key.
    const ctlog = find(dev.public, 'Deployment', 'ctlog').spec.template.spec;
    expect(ctlog.initContainers[0].env.map((variable: any) => variable.valueFrom.secretKeyRef?.name ?? variable.valueFrom.configMapKeyRef.name)).toEqual([
      'ctlog-tree',
      'ctlog-signer-password',
    ]);
    expect(ctlog.containers[0].env ?? []).toEqual([]);
  });
});

describe('the documented production example (envs/prd.example.yaml)', () => {
  it('builds, and passes every whole-output check', () => {
    const text = readFileSync(join(__dirname, '..', '..', 'envs', 'prd.example.yaml'), 'utf8');
    const config = { ...parseConfigText(text, 'envs/prd.example.yaml'), env: 'prd' };
    const cluster = synthesizeCluster({ config, material, passwords: TEST_PASSWORDS });
    const all = [...cluster.public, ...cluster.secrets];
    const namespace = config.cluster.namespace;
    const database = config.database.kind === 'external' ? config.database : undefined;
    const operatorSecrets = [database?.credentialsSecret, database?.tlsCaSecret, config.cluster.ingressTlsSecret, config.backup.mysql.enabled ? config.backup.mysql.credentialsSecret : undefined]
      .filter((name): name is string => name !== undefined)
      .map((name) => `${namespace}/${name}`);
    expect(all.flatMap(schemaErrors)).toEqual([]);
    expect(all.flatMap((object) => unknownFields.unknownFields(object))).toEqual([]);
    expect(referenceProblems(all, { operatorSecrets })).toEqual([]);
    expect(selectorProblems(all)).toEqual([]);
    expect(addressProblems(all)).toEqual([]);
    expect(imageProblems(all, new Set(Object.values(IMAGES).map((image) => imageReference(image, config.images.mirror))))).toEqual([]);
    expect(securityProblems(all)).toEqual([]);
  });
});

describe('the whole-output checks can fail', () => {
  let cluster: SynthesizedCluster;
  const mutate = (edit: (objects: any[]) => void) => {
    const objects = JSON.parse(JSON.stringify([...cluster.public, ...cluster.secrets]));
    edit(objects);
    return objects as KubeObject[];
  };
  beforeAll(() => {
    cluster = synthesizeCluster(chartInput(material));
  });

  it('reports a missing Secret key, a missing ConfigMap and a key nothing writes', () => {
    expect(referenceProblems(mutate((objects) => delete find(objects, 'Secret', 'rekor-signer-password').stringData.password))).toEqual([
      expect.stringContaining('reads key "password" of Secret sigstore-system/rekor-signer-password'),
    ]);
    expect(referenceProblems(mutate((objects) => objects.splice(objects.indexOf(find(objects, 'ConfigMap', 'fulcio-config')), 1)))).not.toEqual([]);
    const withoutTreeJob = mutate((objects) => objects.splice(objects.indexOf(find(objects, 'Job', 'rekor-createtree')), 1));
    expect(referenceProblems(withoutTreeJob)).toEqual([expect.stringContaining('reads key "treeID" of ConfigMap sigstore-system/rekor-tree')]);
  });

  it('reports a Service whose selector matches nothing, and an address with the wrong port', () => {
    expect(selectorProblems(mutate((objects) => (find(objects, 'Service', 'rekor').spec.selector['app.kubernetes.io/name'] = 'rekr')))).toEqual([
      expect.stringContaining('matches no pod template'),
    ]);
    const wrongPort = mutate((objects) => {
      const args: string[] = find(objects, 'Deployment', 'rekor').spec.template.spec.containers[0].args;
      args[args.findIndex((arg) => arg.startsWith('--trillian_log_server.port='))] = '--trillian_log_server.port=8090';
      find(objects, 'Service', 'trillian-log-server').spec.ports.pop();
    });
    expect(addressProblems(wrongPort)).toEqual([expect.stringContaining('trillian-log-server.sigstore-system.svc:8090')]);
  });

  it('reports a Secret-sourced variable expanded into a command line', () => {
    const broken = mutate((objects) => {
      const fulcio = find(objects, 'Deployment', 'fulcio').spec.template.spec.containers[0];
      fulcio.args.push('--fileca-key-passwd=$(FULCIO_SERVE_FILECA-KEY-PASSWD)');
    });
    expect(secretArgvReferences(broken)).toContainEqual({
      workload: 'fulcio',
      container: 'fulcio',
      flag: '--fileca-key-passwd',
      variables: ['FULCIO_SERVE_FILECA-KEY-PASSWD'],
    });
  });

  it('reports an unpinned image, a writable root filesystem, a missing probe and an unknown field', () => {
    const broken = mutate((objects) => {
      const container = find(objects, 'Deployment', 'tsa').spec.template.spec.containers[0];
      container.image = 'ghcr.io/sigstore/timestamp-server:v2.1.0';
      container.securityContext.readOnlyRootFilesystem = false;
      delete container.livenessProbe;
      container.imagePullPolcy = 'Always';
    });
    expect(imageProblems(broken)).toEqual([expect.stringContaining('is not pinned by digest')]);
    expect(securityProblems(broken)).toEqual([expect.stringContaining('root filesystem is writable'), expect.stringContaining('no liveness probe')]);
    expect(unknownFields.unknownFields(find(broken, 'Deployment', 'tsa'))).toEqual(['spec.template.spec.containers[0].imagePullPolcy']);
    expect(schemaErrors({ ...find(broken, 'Deployment', 'tsa'), spec: { replicas: 'two' } } as KubeObject)).toEqual([expect.stringContaining('replicas')]);
  });
});
