import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IMAGES, imageReference } from '../../lib/config/images';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { fixtureMaterial } from '../helpers/fixture-state';
import { EXTERNAL_PLAIN_DATABASE_YAML, PRODUCTION_LIKE_YAML, TEST_PASSWORDS, chartInput, find, synthesizeCluster, type SynthesizedCluster } from './cluster-fixture';

/* eslint-disable @typescript-eslint/no-explicit-any */

let directory: string;
let material: PkiMaterial;
let dev: SynthesizedCluster;
let prd: SynthesizedCluster;
beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-components-'));
  material = await fixtureMaterial(directory);
  dev = synthesizeCluster(chartInput(material));
  prd = synthesizeCluster(chartInput(material, PRODUCTION_LIKE_YAML));
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const pem = (certificates: { toString(format: 'pem'): string }[]) => certificates.map((certificate) => `${certificate.toString('pem')}\n`).join('');
const podSpec = (cluster: SynthesizedCluster, kind: 'Deployment' | 'Job', name: string) => find(cluster.public, kind, name).spec.template.spec;
const container = (cluster: SynthesizedCluster, kind: 'Deployment' | 'Job', name: string, index = 0) => podSpec(cluster, kind, name).containers[index];
const env = (c: any, name: string) => (c.env ?? []).find((variable: any) => variable.name === name);
const flag = (c: any, name: string) => (c.args as string[]).filter((arg) => arg === name || arg.startsWith(`${name}=`)).map((arg) => arg.slice(name.length + 1));
const secretData = (cluster: SynthesizedCluster, name: string) => find(cluster.secrets, 'Secret', name).stringData;
const mountOf = (spec: any, c: any, path: string) => {
  const mount = c.volumeMounts.find((candidate: any) => candidate.mountPath === path);
  return { mount, volume: spec.volumes.find((volume: any) => volume.name === mount?.name) };
};

describe('MySQL', () => {
  it('in-cluster: MySQL 8.4 on a PVC, Recreate, its passwords from a Secret, a Service and the createdb Job', () => {
    const spec = podSpec(dev, 'Deployment', 'trillian-mysql');
    expect(find(dev.public, 'Deployment', 'trillian-mysql').spec.strategy.type).toBe('Recreate');
    expect(find(dev.public, 'PersistentVolumeClaim', 'trillian-mysql-data').spec.resources.requests.storage).toBe('5Gi');
    const mysql = spec.containers[0];
    expect(mysql.image).toBe(imageReference(IMAGES.mysql));
    expect(mountOf(spec, mysql, '/var/lib/mysql').volume.persistentVolumeClaim.claimName).toBe('trillian-mysql-data');
    // The passwords as files (*_FILE), never as values in the pod spec.
    expect(env(mysql, 'MYSQL_PASSWORD')).toBeUndefined();
    expect(env(mysql, 'MYSQL_ROOT_PASSWORD')).toBeUndefined();
    expect(env(mysql, 'MYSQL_PASSWORD_FILE').value).toBe('/etc/mysql-credentials/password');
    expect(env(mysql, 'MYSQL_ROOT_PASSWORD_FILE').value).toBe('/etc/mysql-credentials/root-password');
    const credentials = mountOf(spec, mysql, '/etc/mysql-credentials');
    expect(credentials.mount.readOnly).toBe(true);
    expect(credentials.volume.secret).toEqual({
      secretName: 'trillian-mysql',
      items: [
        { key: 'password', path: 'password' },
        { key: 'root-password', path: 'root-password' },
      ],
    });
    expect(secretData(dev, 'trillian-mysql')).toEqual({
      'root-password': TEST_PASSWORDS.mysqlRootPassword,
      username: 'trillian',
      password: TEST_PASSWORDS.mysqlPassword,
    });
    const createdb = container(dev, 'Job', 'trillian-createdb');
    expect(createdb.args).toEqual(['--mysql_uri=$(MYSQL_USER):$(MYSQL_PASSWORD)@tcp(trillian-mysql.sigstore-system.svc:3306)/', '--db_name=trillian']);
  });

  it('external with a CA: no in-cluster MySQL, Trillian verifies the server; no createdb (it cannot verify a private CA)', () => {
    expect(prd.public.some((object) => object.metadata.name === 'trillian-mysql')).toBe(false);
    expect(prd.public.some((object) => object.kind === 'Job' && object.metadata.name === 'trillian-createdb')).toBe(false);
    const server = container(prd, 'Deployment', 'trillian-log-server');
    // The DSN comes from the flag file, which names the credentials for Trillian to expand from its environment.
    expect(flag(server, '--mysql_uri')).toEqual([]);
    expect(flag(server, '--config')).toEqual(['/etc/trillian-database/flags']);
    expect(find(prd.public, 'ConfigMap', 'trillian-database-flags').data).toEqual({
      flags: "'--mysql_uri=${MYSQL_USER}:${MYSQL_PASSWORD}@tcp(trillian-db.example.internal:3307)/trillian_prd'\n",
    });
    expect(mountOf(podSpec(prd, 'Deployment', 'trillian-log-signer'), container(prd, 'Deployment', 'trillian-log-signer'), '/etc/trillian-database').volume.configMap.name).toBe(
      'trillian-database-flags',
    );
    expect(flag(server, '--mysql_tls_ca')).toEqual(['/var/run/trillian-database-ca/ca.crt']);
    expect(flag(server, '--mysql_server_name')).toEqual(['trillian-db.example.internal']);
    const spec = podSpec(prd, 'Deployment', 'trillian-log-server');
    expect(mountOf(spec, server, '/var/run/trillian-database-ca').volume.secret).toEqual({ secretName: 'trillian-db-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] });
    expect(env(server, 'MYSQL_USER').valueFrom.secretKeyRef).toEqual({ name: 'trillian-db', key: 'username' });
    expect(prd.secrets.some((secret) => secret.metadata.name === 'trillian-mysql')).toBe(false);
  });

  it('external without TLS: createdb runs against it', () => {
    const plain = synthesizeCluster(chartInput(material, EXTERNAL_PLAIN_DATABASE_YAML));
    expect(flag(container(plain, 'Job', 'trillian-createdb'), '--mysql_uri')).toEqual(['$(MYSQL_USER):$(MYSQL_PASSWORD)@tcp(10.1.2.3:3306)/']);
  });
});

describe('Trillian', () => {
  it('one signer: --force_master, strategy Recreate, no service account or RBAC', () => {
    const signer = container(dev, 'Deployment', 'trillian-log-signer');
    expect(flag(signer, '--force_master')).toEqual(['true']);
    expect(flag(signer, '--election_system')).toEqual([]);
    expect(find(dev.public, 'Deployment', 'trillian-log-signer').spec.strategy.type).toBe('Recreate');
    expect(podSpec(dev, 'Deployment', 'trillian-log-signer').automountServiceAccountToken).toBe(false);
    expect(dev.public.filter((object) => object.kind === 'Role').map((role) => role.metadata.name)).toEqual(['rekor-createtree', 'ctlog-createtree']);
  });

  it('several signers: Lease election on the configured trees\' Leases only, with exactly the verbs it uses, bound to the signer only', () => {
    const deployment = find(prd.public, 'Deployment', 'trillian-log-signer');
    expect(deployment.spec.replicas).toBe(2);
    const signer = deployment.spec.template.spec.containers[0];
    expect(flag(signer, '--force_master')).toEqual(['false']);
    expect(flag(signer, '--election_system')).toEqual(['k8s']);
    expect(flag(signer, '--lock_namespace')).toEqual(['sigstore-prd']);
    expect(flag(signer, '--lock_holder_identity')).toEqual(['$(POD_NAME)']);
    expect(env(signer, 'POD_NAME').valueFrom.fieldRef.fieldPath).toBe('metadata.name');
    expect(deployment.spec.template.spec.serviceAccountName).toBe('trillian-log-signer');
    expect(deployment.spec.template.spec.automountServiceAccountToken).toBe(true);
    // Exactly the Leases of the configured trees (named after their ids), which the manifest creates: no create, no other Lease.
    expect(find(prd.public, 'Role', 'trillian-log-signer-election').rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['1234567890123456789', '987654321098765432'], verbs: ['get', 'watch', 'update'] },
    ]);
    expect(prd.public.filter((object) => object.kind === 'Lease').map((lease) => lease.metadata.name)).toEqual(['1234567890123456789', '987654321098765432']);
    for (const lease of prd.public.filter((object) => object.kind === 'Lease') as any[]) expect(lease.spec).toBeUndefined();
    // The signers start only once the tree ConfigMaps hold exactly the configured ids.
    const check = deployment.spec.template.spec.initContainers[0];
    expect(check.name).toBe('check-tree-ids');
    expect(check.env.map((variable: any) => [variable.name, variable.valueFrom.configMapKeyRef])).toEqual([
      ['TREE_ID_0', { name: 'rekor-tree', key: 'treeID' }],
      ['TREE_ID_1', { name: 'ctlog-tree', key: 'treeID' }],
    ]);
    expect(check.command[2]).toContain('check "$TREE_ID_0" 1234567890123456789 rekor-tree');
    expect(check.command[2]).toContain('check "$TREE_ID_1" 987654321098765432 ctlog-tree');
    const binding = find(prd.public, 'RoleBinding', 'trillian-log-signer-election');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'trillian-log-signer-election' });
    expect(binding.subjects).toEqual([{ apiGroup: '', kind: 'ServiceAccount', name: 'trillian-log-signer', namespace: 'sigstore-prd' }]);
    expect(podSpec(prd, 'Deployment', 'trillian-log-server').automountServiceAccountToken).toBe(false);
  });

  it('the log server listens on gRPC 8091 and HTTP 8090 behind Service trillian-log-server', () => {
    const server = container(dev, 'Deployment', 'trillian-log-server');
    expect(flag(server, '--rpc_endpoint')).toEqual(['0.0.0.0:8091']);
    expect(flag(server, '--http_endpoint')).toEqual(['0.0.0.0:8090']);
    expect(find(dev.public, 'Service', 'trillian-log-server').spec.ports.map((port: any) => port.port)).toEqual([8091, 8090]);
  });
});

describe('tree Jobs (the start-up gate)', () => {
  it.each([
    ['rekor', 'rekor-tree'],
    ['ctlog', 'ctlog-tree'],
  ])('%s: a ConfigMap without treeID, a createtree Job that may only get and update it, never --force', (name, configMap) => {
    const map = find(dev.public, 'ConfigMap', configMap);
    expect(Object.keys(map.data)).toEqual(['__placeholder']);
    const job = container(dev, 'Job', `${name}-createtree`);
    expect(job.image).toBe(imageReference(IMAGES.createtree));
    expect(job.args).toEqual([
      '--namespace=sigstore-system',
      `--configmap=${configMap}`,
      '--admin_server=trillian-log-server.sigstore-system.svc:8091',
      `--display_name=${name}`,
    ]);
    expect(job.args.some((arg: string) => arg.startsWith('--force'))).toBe(false);
    expect(podSpec(dev, 'Job', `${name}-createtree`).serviceAccountName).toBe(`${name}-createtree`);
    expect(find(dev.public, 'Role', `${name}-createtree`).rules).toEqual([
      { apiGroups: [''], resources: ['configmaps'], resourceNames: [configMap], verbs: ['get', 'update'] },
    ]);
  });

  it('Rekor and the CT log config renderer read treeID from their tree ConfigMaps (and so wait for it)', () => {
    expect(env(container(dev, 'Deployment', 'rekor'), 'TREE_ID').valueFrom.configMapKeyRef).toEqual({ name: 'rekor-tree', key: 'treeID' });
    const render = podSpec(dev, 'Deployment', 'ctlog').initContainers[0];
    expect(env(render, 'TREE_ID').valueFrom.configMapKeyRef).toEqual({ name: 'ctlog-tree', key: 'treeID' });
  });
});

describe('Rekor', () => {
  it('signs with the Rekor key from the state and its password, uses Redis with a password, and the Trillian tree', () => {
    const rekor = container(dev, 'Deployment', 'rekor');
    const spec = podSpec(dev, 'Deployment', 'rekor');
    expect(flag(rekor, '--rekor_server.signer')).toEqual(['/var/run/rekor-signer/signing-key.pem']);
    expect(flag(rekor, '--rekor_server.signer-passwd')).toEqual([]);
    expect(mountOf(spec, rekor, '/var/run/rekor-signer').volume.secret.secretName).toBe('rekor-signer');
    expect(secretData(dev, 'rekor-signer')).toEqual({ 'signing-key.pem': material.rekor.privateKey.pem });
    expect(secretData(dev, 'rekor-signer-password')).toEqual({ password: material.rekor.privateKey.password });
    // viper's environment variables (no prefix, no key replacer): the key upper-cased.
    expect(env(rekor, 'REKOR_SERVER.SIGNER-PASSWD').valueFrom.secretKeyRef).toEqual({ name: 'rekor-signer-password', key: 'password' });
    expect(env(rekor, 'REDIS_SERVER.PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'rekor-redis', key: 'password' });
    expect(flag(rekor, '--redis_server.password')).toEqual([]);
    expect(flag(rekor, '--trillian_log_server.address')).toEqual(['trillian-log-server.sigstore-system.svc']);
    expect(flag(rekor, '--trillian_log_server.port')).toEqual(['8091']);
    expect(flag(rekor, '--trillian_log_server.tlog_id')).toEqual(['$(TREE_ID)']);
    expect(flag(rekor, '--redis_server.address')).toEqual(['rekor-redis.sigstore-system.svc']);
    expect(flag(rekor, '--rekor_server.address')).toEqual(['0.0.0.0']);
    expect(secretData(dev, 'rekor-redis')).toEqual({ password: TEST_PASSWORDS.redisPassword, 'redis.conf': `requirepass ${TEST_PASSWORDS.redisPassword}\n` });
    const redis = container(dev, 'Deployment', 'rekor-redis');
    expect(redis.args[0]).toBe('/etc/redis/redis.conf');
    expect(redis.args.some((arg: string) => /requirepass|PASSWORD/.test(arg))).toBe(false);
    expect(mountOf(podSpec(dev, 'Deployment', 'rekor-redis'), redis, '/etc/redis').volume.secret).toEqual({
      secretName: 'rekor-redis',
      items: [{ key: 'redis.conf', path: 'redis.conf' }],
    });
  });

  it('uses one checkpoint origin for every replica: the public hostname when there is one', () => {
    expect(flag(container(dev, 'Deployment', 'rekor'), '--rekor_server.hostname')).toEqual(['rekor.sigstore-system.svc']);
    expect(flag(container(prd, 'Deployment', 'rekor'), '--rekor_server.hostname')).toEqual(['rekor.example.com']);
  });
});

describe('CT log', () => {
  it('renders its LogMultiConfig at pod start from the public template, the treeID gate and the key password', () => {
    const configMap = find(prd.public, 'ConfigMap', 'ctlog-config');
    const template: string = configMap.data['ct_server.cfg.template'];
    expect(template).toContain('backend_spec: "trillian-log-server.sigstore-prd.svc:8091"');
    expect(template).toContain('log_id: @TREE_ID@');
    expect(template).toContain('prefix: "forge"');
    expect(template).toContain('ext_key_usages: "CodeSigning"');
    expect(template).toContain('roots_pem_file: "/etc/ctlog-config/roots.pem"');
    expect(template).toContain('path: "/var/run/ctlog-signer/private.pem"');
    expect(template).toContain('password: "@KEY_PASSWORD@"');
    expect(configMap.data['roots.pem']).toBe(pem([material.fulcio.root]));
    const spec = podSpec(prd, 'Deployment', 'ctlog');
    const render = spec.initContainers[0];
    expect(render.image).toBe(imageReference(IMAGES.curl, { registry: 'swr.eu-de.otc.t-systems.com', organization: 'example-forge-prd' }));
    expect(env(render, 'KEY_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'ctlog-signer-password', key: 'password' });
    expect(env(spec.containers[0], 'KEY_PASSWORD')).toBeUndefined();
    const server = spec.containers[0];
    expect(flag(server, '--log_config')).toEqual(['/var/run/ctlog-config/ct_server.cfg']);
    expect(mountOf(spec, server, '/var/run/ctlog-config').volume.emptyDir.medium).toBe('Memory');
    expect(mountOf(spec, render, '/var/run/ctlog-config').mount.readOnly).toBeFalsy();
    expect(mountOf(spec, server, '/var/run/ctlog-config').mount.readOnly).toBe(true);
    expect(secretData(prd, 'ctlog-signer')).toEqual({ 'private.pem': material.ctlog.privateKey.pem });
    expect(secretData(prd, 'ctlog-signer-password')).toEqual({ password: material.ctlog.privateKey.password });
  });
});

describe('Fulcio', () => {
  it('fileca with the chain (intermediate first) and its encrypted key, the in-cluster CT log with its prefix', () => {
    const fulcio = container(prd, 'Deployment', 'fulcio');
    expect(flag(fulcio, '--ca')).toEqual(['fileca']);
    expect(flag(fulcio, '--fileca-cert')).toEqual(['/etc/fulcio-config/ca-chain.pem']);
    expect(flag(fulcio, '--fileca-key')).toEqual(['/var/run/fulcio-ca/key.pem']);
    expect(flag(fulcio, '--fileca-key-passwd')).toEqual([]);
    expect(env(fulcio, 'FULCIO_SERVE_FILECA-KEY-PASSWD').valueFrom.secretKeyRef).toEqual({ name: 'fulcio-ca-key-password', key: 'password' });
    expect(flag(fulcio, '--ct-log-url')).toEqual(['http://ctlog.sigstore-prd.svc/forge']);
    expect(find(prd.public, 'ConfigMap', 'fulcio-config').data['ca-chain.pem']).toBe(pem([material.fulcio.intermediate, material.fulcio.root]));
    expect(secretData(prd, 'fulcio-ca-key')).toEqual({ 'key.pem': material.fulcio.intermediateKey.pem });
    expect(secretData(prd, 'fulcio-ca-key-password')).toEqual({ password: material.fulcio.intermediateKey.password });
  });

  it('trusts the union of the tenants\' issuers and the global ones, once each', () => {
    const config = JSON.parse(find(prd.public, 'ConfigMap', 'fulcio-config').data['config.json']);
    expect(config).toEqual({
      OIDCIssuers: {
        'https://accounts.google.com': { IssuerURL: 'https://accounts.google.com', ClientID: 'sigstore', Type: 'email' },
        'https://gitlab.example.com': { IssuerURL: 'https://gitlab.example.com', ClientID: 'sigstore', Type: 'gitlab-pipeline' },
        'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0': {
          IssuerURL: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0',
          ClientID: 'sigstore',
          Type: 'email',
        },
        'https://token.actions.githubusercontent.com': { IssuerURL: 'https://token.actions.githubusercontent.com', ClientID: 'sigstore', Type: 'github-workflow' },
      },
    });
    expect(Object.keys(JSON.parse(find(dev.public, 'ConfigMap', 'fulcio-config').data['config.json']).OIDCIssuers)).toEqual([]);
  });
});

describe('Timestamp Authority', () => {
  it('file signer with the leaf key, chain leaf first, listening on 0.0.0.0', () => {
    const tsa = container(dev, 'Deployment', 'tsa');
    expect(flag(tsa, '--host')).toEqual(['0.0.0.0']);
    expect(flag(tsa, '--port')).toEqual(['5555']);
    expect(flag(tsa, '--timestamp-signer')).toEqual(['file']);
    expect(flag(tsa, '--file-signer-passwd')).toEqual([]);
    expect(env(tsa, 'FILE-SIGNER-PASSWD').valueFrom.secretKeyRef).toEqual({ name: 'tsa-signer-password', key: 'password' });
    expect(find(dev.public, 'ConfigMap', 'tsa-config').data['chain.pem']).toBe(pem([material.tsa.leaf, material.tsa.intermediate, material.tsa.root]));
    expect(secretData(dev, 'tsa-signer')).toEqual({ 'key.pem': material.tsa.leafKey.pem });
    expect(secretData(dev, 'tsa-signer-password')).toEqual({ password: material.tsa.leafKey.password });
  });

  it('NTP monitoring: off by default, the configured servers (a majority must agree), or the public list', () => {
    expect(flag(container(dev, 'Deployment', 'tsa'), '--disable-ntp-monitoring')).toEqual(['']);
    const tsa = container(prd, 'Deployment', 'tsa');
    expect(flag(tsa, '--disable-ntp-monitoring')).toEqual([]);
    expect(flag(tsa, '--ntp-monitoring')).toEqual(['/etc/tsa-config/ntp-monitoring.yaml']);
    const yaml: string = find(prd.public, 'ConfigMap', 'tsa-config').data['ntp-monitoring.yaml'];
    expect(yaml).toContain('num_servers: 3\nserver_threshold: 2\n');
    expect(yaml).toContain('  - "ntp1.example.internal"\n  - "ntp2.example.internal"\n  - "ntp3.example.internal"\n');
    const publicList = synthesizeCluster(chartInput(material, 'services:\n  tsa: { ntpMonitoring: true }\n'));
    const args: string[] = container(publicList, 'Deployment', 'tsa').args;
    expect(args.some((arg) => arg.includes('ntp-monitoring'))).toBe(false);
  });
});

describe('TUF server', () => {
  it('serves the trust outputs until the TUF repository exists, with a static server', () => {
    const configMap = find(dev.public, 'ConfigMap', 'tuf-repository');
    expect(Object.keys(configMap.data)).toEqual(['ctlog.pub', 'fulcio-chain.pem', 'rekor.pub', 'trusted_root.json', 'tsa-chain.pem']);
    const tuf = container(dev, 'Deployment', 'tuf');
    expect(tuf.args).toEqual(['--mode=serve', '--target-dir=/var/run/tuf']);
    expect(tuf.readinessProbe.httpGet.path).toBe('/trusted_root.json');
  });

  it('serves any files, subdirectories included, each at its path', () => {
    const files = [
      { path: '1.root.json', content: '{"signed":{}}' },
      { path: 'timestamp.json', content: '{}' },
      { path: 'targets/0123abcd.trusted_root.json', content: '{"mediaType":"x"}' },
    ];
    const cluster = synthesizeCluster(chartInput(material, '', files));
    const configMap = find(cluster.public, 'ConfigMap', 'tuf-repository');
    expect(configMap.data).toEqual({ '1.root.json': '{"signed":{}}', 'targets__0123abcd.trusted_root.json': '{"mediaType":"x"}', 'timestamp.json': '{}' });
    const spec = podSpec(cluster, 'Deployment', 'tuf');
    expect(spec.volumes[0].configMap.items).toEqual([
      { key: '1.root.json', path: '1.root.json' },
      { key: 'targets__0123abcd.trusted_root.json', path: 'targets/0123abcd.trusted_root.json' },
      { key: 'timestamp.json', path: 'timestamp.json' },
    ]);
    expect(spec.containers[0].volumeMounts[0].mountPath).toBe('/var/run/tuf/repository');
    expect(spec.containers[0].readinessProbe.httpGet.path).toBe('/timestamp.json');
  });
});

describe('trust roots ConfigMap', () => {
  it('puts sigstore-trust-roots (fulcio-root.pem, tsa-root.pem, chains, trusted_root.json) into every listed namespace', () => {
    const maps = prd.public.filter((object) => object.kind === 'ConfigMap' && object.metadata.name === 'sigstore-trust-roots') as any[];
    expect(maps.map((map) => map.metadata.namespace)).toEqual(['forge-prd', 'forge-staging']);
    for (const map of maps) {
      expect(map.data['fulcio-root.pem']).toBe(pem([material.fulcio.root]));
      expect(map.data['tsa-root.pem']).toBe(pem([material.tsa.root]));
      expect(map.data['fulcio-chain.pem']).toBe(pem([material.fulcio.intermediate, material.fulcio.root]));
      expect(JSON.parse(map.data['trusted_root.json']).mediaType).toMatch(/trustedroot/);
    }
    expect(dev.public.some((object) => object.metadata.name === 'sigstore-trust-roots')).toBe(false);
  });
});

describe('Ingress', () => {
  it('one per configured hostname, to the Service on port 80, with the TLS Secret; none without hostnames', () => {
    const ingresses = prd.public.filter((object) => object.kind === 'Ingress') as any[];
    expect(ingresses.map((ingress) => [ingress.metadata.name, ingress.spec.rules[0].host])).toEqual([
      ['fulcio', 'fulcio.example.com'],
      ['rekor', 'rekor.example.com'],
      ['ctlog', 'ctlog.example.com'],
      ['tsa', 'tsa.example.com'],
      ['tuf', 'tuf.example.com'],
    ]);
    for (const ingress of ingresses) {
      expect(ingress.spec.ingressClassName).toBe('nginx');
      expect(ingress.spec.tls).toEqual([{ hosts: [ingress.spec.rules[0].host], secretName: 'sigstore-tls' }]);
      expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({ name: ingress.metadata.name, port: { number: 80 } });
    }
    expect(dev.public.some((object) => object.kind === 'Ingress')).toBe(false);
  });
});

describe('replicas', () => {
  it('follow the configuration', () => {
    for (const name of ['fulcio', 'rekor', 'ctlog', 'tsa', 'tuf', 'trillian-log-server', 'trillian-log-signer']) {
      expect([name, find(prd.public, 'Deployment', name).spec.replicas]).toEqual([name, 2]);
      expect([name, find(dev.public, 'Deployment', name).spec.replicas]).toEqual([name, 1]);
    }
  });
});

describe('availability', () => {
  const REPLICATED = ['trillian-log-server', 'trillian-log-signer', 'rekor', 'ctlog', 'fulcio', 'tsa', 'tuf'];

  it('a PodDisruptionBudget for every Deployment with more than one replica (one pod at a time), none for single replicas', () => {
    const budgets = prd.public.filter((object) => object.kind === 'PodDisruptionBudget') as any[];
    const replicated = (prd.public.filter((object) => object.kind === 'Deployment') as any[]).filter((deployment) => deployment.spec.replicas > 1);
    expect(budgets.map((budget) => budget.metadata.name).sort()).toEqual(replicated.map((deployment) => deployment.metadata.name).sort());
    expect(budgets.map((budget) => budget.metadata.name).sort()).toEqual([...REPLICATED].sort());
    for (const budget of budgets) {
      expect(budget.spec).toEqual({
        maxUnavailable: 1,
        selector: { matchLabels: { 'app.kubernetes.io/name': budget.metadata.name } },
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
      });
      expect(find(prd.public, 'Deployment', budget.metadata.name).spec.template.metadata.labels['app.kubernetes.io/name']).toBe(budget.metadata.name);
    }
    expect(dev.public.some((object) => object.kind === 'PodDisruptionBudget')).toBe(false);
  });

  it('replicated servers spread over zones (preferred) and nodes (required), per rollout revision, cordoned nodes not counted', () => {
    for (const name of REPLICATED) {
      const spread = podSpec(prd, 'Deployment', name).topologySpreadConstraints;
      const constraint = (topologyKey: string, whenUnsatisfiable: string) => ({
        topologyKey,
        maxSkew: 1,
        whenUnsatisfiable,
        labelSelector: { matchLabels: { 'app.kubernetes.io/name': name } },
        matchLabelKeys: ['pod-template-hash'],
        nodeTaintsPolicy: 'Honor',
      });
      expect([name, spread]).toEqual([name, [constraint('topology.kubernetes.io/zone', 'ScheduleAnyway'), constraint('kubernetes.io/hostname', 'DoNotSchedule')]]);
    }
    for (const deployment of dev.public.filter((object) => object.kind === 'Deployment') as any[]) {
      expect(deployment.spec.template.spec.topologySpreadConstraints).toBeUndefined();
    }
    const otherZoneLabel = synthesizeCluster(chartInput(material, `${PRODUCTION_LIKE_YAML}scheduling: { zoneTopologyKey: failure-domain.beta.kubernetes.io/zone }\n`));
    expect(podSpec(otherZoneLabel, 'Deployment', 'fulcio').topologySpreadConstraints[0].topologyKey).toBe('failure-domain.beta.kubernetes.io/zone');
  });

  it('rollouts keep a replica serving (surge 1, unavailable 0); single writers (MySQL, Redis, a force-master signer) are replaced with Recreate', () => {
    for (const deployment of dev.public.filter((object) => object.kind === 'Deployment') as any[]) {
      const name = deployment.metadata.name;
      if (['trillian-mysql', 'rekor-redis', 'trillian-log-signer'].includes(name)) {
        expect([name, deployment.spec.strategy]).toEqual([name, { type: 'Recreate' }]);
      } else {
        expect([name, deployment.spec.strategy]).toEqual([name, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }]);
      }
    }
    expect(find(prd.public, 'Deployment', 'trillian-log-signer').spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  });

  it('scheduling: node selector, tolerations and priority class on every pod (Deployments and Jobs); none by default', () => {
    const scheduled = synthesizeCluster(
      chartInput(
        material,
        `scheduling:
  nodeSelector: { node-pool: sigstore }
  tolerations: [{ key: dedicated, operator: Equal, value: sigstore, effect: NoSchedule }]
  priorityClassName: sigstore-critical
`,
      ),
    );
    const pods = scheduled.public.filter((object) => object.kind === 'Deployment' || object.kind === 'Job') as any[];
    expect(pods.length).toBeGreaterThan(10);
    for (const workload of pods) {
      const spec = workload.spec.template.spec;
      expect([workload.metadata.name, spec.nodeSelector, spec.tolerations, spec.priorityClassName]).toEqual([
        workload.metadata.name,
        { 'node-pool': 'sigstore' },
        [{ key: 'dedicated', operator: 'Equal', value: 'sigstore', effect: 'NoSchedule' }],
        'sigstore-critical',
      ]);
    }
    for (const workload of dev.public.filter((object) => object.kind === 'Deployment' || object.kind === 'Job') as any[]) {
      const spec = workload.spec.template.spec;
      expect([spec.nodeSelector, spec.tolerations, spec.priorityClassName]).toEqual([undefined, undefined, undefined]);
    }
  });
});
