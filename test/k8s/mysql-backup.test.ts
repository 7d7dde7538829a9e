import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { backupJobDirectory, runBackupScript } from '../helpers/backup-job';
import { fixtureConfig, fixtureMaterial } from '../helpers/fixture-state';
import { startObsTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type ObsTestServer } from '../helpers/obs-server';
import { configError } from '../helpers/config';
import { PRODUCTION_LIKE_YAML, chartInput, find, synthesizeCluster, type SynthesizedCluster } from './cluster-fixture';
import { unknownFieldChecker, schemaErrors } from './kubernetes-schema';
import { imageProblems, secretArgvReferences, securityProblems } from './manifest-checks';
import { allowedFlows, flowDifferences, requiredFlows } from './network-flows';

/* eslint-disable @typescript-eslint/no-explicit-any */

const OTC_YAML = 'otc:\n  region: eu-de\n  kms:\n    fulcioRootKeyAlias: f-g1\n    tsaRootKeyAlias: t-g1\n';
const BACKUP_YAML = `${OTC_YAML}backup:\n  mysql: { enabled: true, bucket: example-forge-prd-sigstore, retentionDays: 14, schedule: "15 3 * * *" }\n  redis: { kind: volume, storageSize: 2Gi }\n`;

let directory: string;
let material: PkiMaterial;
let external: SynthesizedCluster;
let inCluster: SynthesizedCluster;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-backup-'));
  material = await fixtureMaterial(directory);
  external = synthesizeCluster(chartInput(material, `${PRODUCTION_LIKE_YAML}${BACKUP_YAML}`));
  inCluster = synthesizeCluster(chartInput(material, BACKUP_YAML));
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const podOf = (cluster: SynthesizedCluster) => find(cluster.public, 'CronJob', 'trillian-mysql-backup').spec.jobTemplate.spec.template.spec;

describe('the MySQL backup CronJob', () => {
  it('is off by default', () => {
    const dev = synthesizeCluster(chartInput(material));
    expect(dev.public.some((object) => object.kind === 'CronJob')).toBe(false);
  });

  it('passes the checks every workload passes: schema, pinned images, restricted pod security, resources, no secret on a command line', () => {
    for (const cluster of [external, inCluster]) {
      const cronJob = find(cluster.public, 'CronJob', 'trillian-mysql-backup');
      expect(schemaErrors(cronJob)).toEqual([]);
      expect(unknownFieldChecker().unknownFields(cronJob)).toEqual([]);
      expect(securityProblems(cluster.public)).toEqual([]);
      expect(imageProblems(cluster.public)).toEqual([]);
      expect(secretArgvReferences([cronJob])).toEqual([]);
      const pod = podOf(cluster);
      for (const container of [...pod.initContainers, ...pod.containers]) {
        expect(container.image).toMatch(/@sha256:[0-9a-f]{64}$/);
        expect(container.resources.requests).toBeDefined();
        expect(container.resources.limits).toBeDefined();
        expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      }
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(cronJob.spec).toMatchObject({ schedule: '15 3 * * *', timeZone: 'Etc/UTC', concurrencyPolicy: 'Forbid' });
    }
  });

  it('dumps one consistent snapshot with mysqldump --single-transaction, the password from a file, TLS verified for an external server', () => {
    const dump = podOf(external).initContainers[0];
    const script: string = dump.command[2];
    expect(script).toContain('mysqldump --defaults-extra-file=/secrets/my.cnf --host=trillian-db.example.internal --port=3307 --ssl-mode=VERIFY_IDENTITY --ssl-ca=/tls/ca.crt');
    expect(script).toContain('--single-transaction');
    expect(script).toContain('--databases trillian_prd');
    expect(dump.env.find((entry: any) => entry.name === 'MYSQL_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'trillian-db', key: 'password' });
    const local: string = podOf(inCluster).initContainers[0].command[2];
    expect(local).toContain('--host=trillian-mysql.sigstore-system.svc --port=3306');
    expect(local).not.toContain('--ssl-ca');
    const upload: string = podOf(inCluster).containers[0].command[2];
    expect(upload).toContain('https://obs.eu-de.otc.t-systems.com/example-forge-prd-sigstore');
    expect(upload).toContain('mysql-backup/test/trillian-$now.sql.gz');
  });

  it('NetworkPolicies allow exactly its flows: MySQL, and OBS on 443', () => {
    for (const [cluster, yaml] of [
      [external, `${PRODUCTION_LIKE_YAML}${BACKUP_YAML}`],
      [inCluster, BACKUP_YAML],
    ] as const) {
      const config = fixtureConfig(yaml);
      const required = requiredFlows(cluster.public, config.networkPolicy);
      expect(required.filter((flow) => flow.startsWith('unresolved'))).toEqual([]);
      expect(flowDifferences(cluster.public, config.networkPolicy)).toEqual({ missing: [], extra: [] });
      expect(allowedFlows(cluster.public)).toEqual(required);
      expect(allowedFlows(cluster.public)).toContain('egress trillian-mysql-backup -> cidr:0.0.0.0/0 TCP/443');
    }
    expect(allowedFlows(inCluster.public)).toContain('egress trillian-mysql-backup -> component:trillian-mysql TCP/3306');
  });

  it('Redis keeps its index on a PersistentVolumeClaim when backup.redis is "volume"', () => {
    const claim = find(inCluster.public, 'PersistentVolumeClaim', 'rekor-redis-data');
    expect(claim.spec.resources.requests.storage).toBe('2Gi');
    const volumes = find(inCluster.public, 'Deployment', 'rekor-redis').spec.template.spec.volumes;
    expect(volumes.find((volume: any) => volume.name === 'data')).toEqual({ name: 'data', persistentVolumeClaim: { claimName: 'rekor-redis-data', readOnly: false } });
    const dev = synthesizeCluster(chartInput(material));
    expect(find(dev.public, 'Deployment', 'rekor-redis').spec.template.spec.volumes.find((volume: any) => volume.name === 'data').emptyDir).toBeDefined();
  });

  it('refuses an enabled backup without a bucket or without the otc section, naming the field', () => {
    const error = configError('organization: Test Org\nbackup:\n  mysql: { enabled: true }\n');
    const paths = error.problems.map((problem) => problem.path.replace(/ \(line \d+\)$/, ''));
    expect(paths).toEqual(expect.arrayContaining(['otc', 'backup.mysql.bucket']));
  });
});

describe('the upload and retention script, run by /bin/sh with curl against a real S3 server', () => {
  let server: ObsTestServer;
  beforeAll(async () => {
    server = await startObsTestServer({ bucket: 'example-forge-prd-sigstore' });
  });
  afterAll(async () => server.stop());

  it('uploads a complete dump, deletes the dumps older than the retention, keeps the newer ones, and refuses an incomplete dump', async () => {
    const s3 = new S3Client({
      endpoint: server.endpoint,
      region: 'eu-de',
      forcePathStyle: true,
      credentials: { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const put = (key: string) =>
      s3.send(new PutObjectCommand({ Bucket: server.bucket, Key: key, Body: 'old dump', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: server.kmsKeyId }));
    await put('mysql-backup/test/trillian-20200101T023000Z.sql.gz');
    const recent = new Date(Date.now() - 2 * 86_400_000).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    await put(`mysql-backup/test/trillian-${recent}.sql.gz`);
    await put('other/trillian-20200101T023000Z.sql.gz');

    // The script as rendered, with its volumes under a job directory and OBS on loopback.
    const script: string = podOf(inCluster).containers[0].command[2];
    const run = (dump: string) => {
      const job = backupJobDirectory(directory, server);
      writeFileSync(join(job.scratch, 'dump.sql'), dump);
      return runBackupScript(script, job, server);
    };

    const incomplete = await run('CREATE TABLE x (y INT);\n');
    expect(incomplete.code).toBe(1);
    expect(incomplete.stderr).toContain('backup: the dump is incomplete');

    const result = await run('-- MySQL dump\nCREATE TABLE Trees (TreeId BIGINT);\n-- Dump completed on 2026-12-02  3:15:00\n');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/backup: uploaded mysql-backup\/test\/trillian-\d{8}T\d{6}Z\.sql\.gz/);
    expect(result.stdout).toContain('backup: deleted mysql-backup/test/trillian-20200101T023000Z.sql.gz (older than 14 days)');
    expect(result.stdout + result.stderr).not.toContain(TEST_SECRET_KEY);
    const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: server.bucket }))).Contents ?? []).map((entry) => entry.Key).sort();
    expect(keys).toEqual(expect.arrayContaining([`mysql-backup/test/trillian-${recent}.sql.gz`, 'other/trillian-20200101T023000Z.sql.gz']));
    expect(keys).not.toContain('mysql-backup/test/trillian-20200101T023000Z.sql.gz');
    expect(keys.filter((key) => key!.startsWith('mysql-backup/test/'))).toHaveLength(2);
  });
});
