import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { backupJobDirectory, runBackupScript, type BackupJobDirectory } from '../helpers/backup-job';
import { runProcess, REPO_ROOT } from '../helpers/cli-process';
import { fixtureMaterial } from '../helpers/fixture-state';
import { mariaDbPrograms, startMariaDb, type MariaDbServer } from '../helpers/mariadb-server';
import { startObsTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type ObsTestServer } from '../helpers/obs-server';
import { databaseFingerprint, trillianDatabaseSql, TREES, TRILLIAN_TABLES, type DatabaseFingerprint } from '../helpers/trillian-database';
import { readmeShellBlocks } from '../readme/readme-blocks';
import { chartInput, find, synthesizeCluster } from './cluster-fixture';

/*
 * The MySQL backup and the README's restore, run for real: a MariaDB server holding a
 * Trillian-shaped database; the backup CronJob's dump script (as synthesized, with this machine's
 * mysqldump) and upload script (curl against the loopback S3 server); then the README's restore
 * block, verbatim, into a second, empty server; and the two databases compared table by table.
 * mysqldump here is MariaDB's (Debian 12: 10.11), the pod's is MySQL 8.4's: the flags the script
 * passes are accepted by both (MariaDB's client/mysqldump.c and mysql/mysql-server's
 * client/mysqldump.cc); what only MySQL 8.4 does (TLS verification flags) is not run here.
 */

const DATABASE = 'trillian_prd';
const BUCKET = 'example-forge-prd-sigstore';
const PREFIX = 'mysql-backup/test';
/** The Trillian user's and the restoring administrator's passwords: characters an option file treats specially (`#` starts a comment, quotes, a backslash, a space). */
const TRILLIAN_PASSWORD = 'tr#llian "pass" \\ word';
const ADMIN_PASSWORD = "adm#n 'root' \"pw\" \\";

let directory: string;
let source: MariaDbServer;
let target: MariaDbServer;
let obs: ObsTestServer;
let dumpScript: string;
let uploadScript: string;
let original: DatabaseFingerprint;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-restore-'));
  // Each assigned as it starts, so that afterAll stops whatever started when another one failed.
  const started = await Promise.allSettled([
    startMariaDb({ generalLog: true }).then((server) => (source = server)),
    startMariaDb().then((server) => (target = server)),
    startObsTestServer({ bucket: BUCKET }).then((server) => (obs = server)),
  ]);
  for (const result of started) if (result.status === 'rejected') throw result.reason;
  const schemaFile = join(directory, 'trillian.sql');
  writeFileSync(schemaFile, trillianDatabaseSql(DATABASE));
  await source.source(schemaFile);
  // The Trillian user as the MySQL image creates it (MYSQL_USER: every privilege on its database,
  // nothing global), so the dump runs with no more than Trillian's own rights.
  await source.query(`CREATE USER trillian@'127.0.0.1' IDENTIFIED BY ${sqlText(TRILLIAN_PASSWORD)}; GRANT ALL ON ${DATABASE}.* TO trillian@'127.0.0.1'`);
  // The empty server's administrator (root over TCP, as through the port-forward), with a password.
  await target.query(`ALTER USER root@'127.0.0.1' IDENTIFIED BY ${sqlText(ADMIN_PASSWORD)}`);
  original = await databaseFingerprint(source, DATABASE);

  const material = await fixtureMaterial(join(directory, 'state'));
  const yaml =
    'otc:\n  region: eu-de\n  kms:\n    fulcioRootKeyAlias: f-g1\n    tsaRootKeyAlias: t-g1\n' +
    `database:\n  kind: external\n  host: 127.0.0.1\n  port: ${source.port}\n  name: ${DATABASE}\n  credentialsSecret: trillian-db\n` +
    `backup:\n  mysql: { enabled: true, bucket: ${BUCKET}, retentionDays: 14, schedule: "15 3 * * *" }\n`;
  const cluster = synthesizeCluster(chartInput(material, yaml));
  const pod = find(cluster.public, 'CronJob', 'trillian-mysql-backup').spec.jobTemplate.spec.template.spec;
  dumpScript = pod.initContainers[0].command[2];
  uploadScript = pod.containers[0].command[2];
}, 120_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop(), obs?.stop()]);
  rmSync(directory, { recursive: true, force: true });
});

describe('the MySQL backup job and the README restore, against real MariaDB servers', () => {
  let job: BackupJobDirectory;
  const oldDump = `${PREFIX}/${DATABASE}-20200101T023000Z.sql.gz`;
  const recentDump = `${PREFIX}/${DATABASE}-${new Date(Date.now() - 2 * 86_400_000).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.sql.gz`;
  let newestDump = '';

  it('the fixture is a Trillian-shaped database with rows in every table', () => {
    expect(Object.keys(original.tables)).toHaveLength(7);
    for (const [table, { rows }] of Object.entries(original.tables)) expect([table, rows > 0]).toEqual([table, true]);
    expect(original.latestHeads.trim().split('\n')).toHaveLength(TREES.length);
  });

  it("the dump script runs mysqldump as Trillian's user in one consistent snapshot (no table locks), the password only in a file it removes", async () => {
    job = backupJobDirectory(directory, obs);
    const run = await runBackupScript(dumpScript, job, obs, { MYSQL_USER: 'trillian', MYSQL_PASSWORD: TRILLIAN_PASSWORD });
    expect(withoutMariaDbGtidWarning(run.stderr)).toBe('');
    expect(run.code).toBe(0);
    const dump = readFileSync(join(job.scratch, 'dump.sql'), 'utf8');
    expect(dump.trimEnd().split('\n').at(-1)).toMatch(/^-- Dump completed/);
    expect(dump).toContain(`CREATE DATABASE /*!32312 IF NOT EXISTS*/ \`${DATABASE}\``);
    expect(readdirSync(job.secrets)).toEqual([]);
    expect(dumpScript).toContain('--single-transaction');
    // No GTID state in the dump: MySQL's option, which MariaDB's mysqldump (no GTID_PURGED) skips with a warning.
    expect(dumpScript).toContain('--loose-set-gtid-purged=OFF');

    // What the server saw from the dump's session: a REPEATABLE READ transaction WITH CONSISTENT
    // SNAPSHOT before the first SELECT, and no LOCK TABLES / FLUSH TABLES (which --single-transaction avoids).
    const log = readFileSync(source.generalLogFile, 'utf8');
    const sessionId = /(\d+) Connect\s+trillian@(?:127\.0\.0\.1|localhost)/.exec(log)?.[1];
    expect(sessionId).toBeDefined();
    const session = log
      .split('\n')
      .filter((line) => new RegExp(`^(?:\\S+\\s+\\S+)?\\s+${sessionId} \\w`).test(line))
      .map((line) => line.replace(/^.*?\d+ (\w+)\s+/, '$1 '));
    const snapshot = session.findIndex((line) => /^Query START TRANSACTION \/\*!40100 WITH CONSISTENT SNAPSHOT \*\/$/.test(line));
    const isolation = session.findIndex((line) => /^Query SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ$/.test(line));
    const rowReads = session.flatMap((line, index) => (/^Query SELECT \/\*!40001 SQL_NO_CACHE \*\/ .* FROM `\w+`$/.test(line) ? [index] : []));
    expect(isolation).toBeGreaterThanOrEqual(0);
    expect(snapshot).toBeGreaterThan(isolation);
    expect(rowReads).toHaveLength(TRILLIAN_TABLES.length);
    expect(rowReads[0]).toBeGreaterThan(snapshot);
    // One transaction from the snapshot to the last read: no COMMIT, no plain ROLLBACK, no new BEGIN between.
    const inTransaction = session.slice(snapshot + 1, rowReads.at(-1));
    expect(inTransaction.filter((line) => /^Query (COMMIT|ROLLBACK(?! TO SAVEPOINT)|BEGIN|START TRANSACTION)/i.test(line))).toEqual([]);
    expect(session.filter((line) => /^Query (LOCK TABLES|FLUSH TABLES)/i.test(line))).toEqual([]);
  });

  it('a failed dump (a wrong password) fails the container and still removes the defaults file, printing no password', async () => {
    const failing = backupJobDirectory(directory, obs);
    const wrong = 'not-the-password#1';
    const run = await runBackupScript(dumpScript, failing, obs, { MYSQL_USER: 'trillian', MYSQL_PASSWORD: wrong });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/Access denied for user 'trillian'@'127\.0\.0\.1' \(using password: YES\)/);
    expect(readdirSync(failing.secrets)).toEqual([]);
    expect(run.stdout + run.stderr).not.toContain(wrong);
  });

  it('the upload script stores it gzipped under the prefix and prunes the dumps older than the retention', async () => {
    const s3 = new S3Client({
      endpoint: obs.endpoint,
      region: 'eu-de',
      forcePathStyle: true,
      credentials: { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: obs.kmsKeyId }));
    await put(oldDump, 'an old dump');
    // A dump of two days ago: kept; older than the new one, so the restore must not take it (it is no gzip).
    await put(recentDump, 'a dump of two days ago');
    const run = await runBackupScript(uploadScript, job, obs);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`backup: deleted ${oldDump} (older than 14 days)`);
    const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${PREFIX}/` }))).Contents ?? []).map((entry) => entry.Key!).sort();
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(recentDump);
    expect(keys[1]).toMatch(new RegExp(`^${PREFIX}/${DATABASE}-\\d{8}T\\d{6}Z\\.sql\\.gz$`));
    expect(run.stdout).toContain(`backup: uploaded ${keys[1]}`);
    newestDump = keys[1];
  });

  it("the README's restore block, run verbatim, loads the newest dump into an empty server: every table equal, the tree heads too", async () => {
    expect(await target.query(`SHOW DATABASES LIKE '${DATABASE}'`)).toBe('');
    const workdir = mkdtempSync(join(directory, 'operator-'));
    const requestsBefore = obs.requests.length;
    const run = await runRestoreBlock(workdir);
    // The listing pages on with start-after until a page is empty (OBS returns at most 1000 keys a page).
    const listings = obs.requests.slice(requestsBefore).filter((request) => request.method === 'GET' && request.path.includes('list-type=2'));
    expect(listings.map((request) => new URL(request.path, 'http://obs').searchParams.get('start-after'))).toEqual([null, newestDump]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^restoring ${newestDump}$`, 'm'));
    for (const tree of TREES) expect(run.stdout).toMatch(new RegExp(`\\| +${tree.id} \\| ACTIVE +\\| LOG +\\| ${tree.name} +\\|`));
    // The check it prints: each tree's latest head, as the original database has it.
    for (const head of original.latestHeads.trim().split('\n')) {
      const [treeId, size, rootHash] = head.split('\t');
      expect(run.stdout).toMatch(new RegExp(`\\| +${treeId} \\| +${size} \\| ${rootHash} \\|`));
    }
    expect(run.stdout + run.stderr).not.toContain(TEST_SECRET_KEY);
    expect(run.stdout + run.stderr).not.toContain(ADMIN_PASSWORD);
    expect(existsSync(join(workdir, 'trillian-restore.sql'))).toBe(false);

    const restored = await databaseFingerprint(target, DATABASE);
    expect(restored).toEqual(original);
    for (const [table, { checksum }] of Object.entries(restored.tables)) expect([table, checksum]).not.toEqual([table, 'NULL']);
  });

  it('the restore block stops when there is no dump under the prefix, before it touches the database', async () => {
    const run = await runRestoreBlock(mkdtempSync(join(directory, 'operator-')), { BACKUP_PREFIX: 'mysql-backup/none' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('DUMP: no dump under mysql-backup/none/');
    expect(run.stdout).not.toContain('restoring');
  });

  it('the snapshot holds: rows committed while mysqldump is halfway through the tables are not in the dump', async () => {
    // The dump goes into a pipe this test reads: once the first table's rows arrive (the snapshot is
    // taken), the test stops reading, so mysqldump blocks on the full pipe with the later tables
    // (TreeHead, Trees, Unsequenced) still to read; meanwhile a new tree, a head and a queued leaf
    // are committed; then the rest is read.
    const consistency = backupJobDirectory(directory, obs);
    const fifo = join(consistency.scratch, 'dump.sql');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    let finished = false;
    const dumping = runBackupScript(dumpScript, consistency, obs, { MYSQL_USER: 'trillian', MYSQL_PASSWORD: TRILLIAN_PASSWORD }).then((run) => {
      finished = true;
      return run;
    });
    const reader = createReadStream(fifo, { highWaterMark: 16 * 1024 });
    let dump = '';
    const ended = new Promise<void>((resolve, reject) => {
      reader.on('end', resolve);
      reader.on('error', reject);
    });
    const newRoot = sha256Hex('a head written during the dump');
    const queued = sha256Hex('a leaf queued during the dump');
    try {
      await new Promise<void>((resolve) => {
        let paused = false;
        reader.on('data', (chunk) => {
          dump += chunk.toString();
          if (!paused && dump.includes('INSERT INTO `LeafData`')) {
            paused = true;
            reader.pause();
            resolve();
          }
        });
      });
      expect(dump).not.toContain('INSERT INTO `TreeHead`');
      await source.query(
        `START TRANSACTION; INSERT INTO ${DATABASE}.Trees VALUES (42, 'ACTIVE', 'LOG', 'late', 'created during the dump', 1764547500000, X'00', FALSE); ` +
          `INSERT INTO ${DATABASE}.TreeHead VALUES (${TREES[0].id}, 1764547300000000099, 41, X'${newRoot}', X'00', 99), (42, 1764547500000000000, 0, X'${newRoot}', X'00', 0); ` +
          `INSERT INTO ${DATABASE}.Unsequenced VALUES (${TREES[0].id}, 0, X'${queued}', X'${queued}', 1764547500000000000, NULL); COMMIT`,
      );
      expect(await source.query(`SELECT COUNT(*) FROM ${DATABASE}.TreeHead WHERE TreeRevision = 99`)).toBe('1\n');
      expect(finished).toBe(false);
      reader.resume();
      await ended;
    } finally {
      // On a failure, closing the pipe ends the blocked mysqldump (EPIPE) instead of leaving it waiting.
      reader.destroy();
    }
    const run = await dumping;
    expect(withoutMariaDbGtidWarning(run.stderr)).toBe('');
    expect(run.code).toBe(0);
    expect(dump.trimEnd().split('\n').at(-1)).toMatch(/^-- Dump completed/);
    expect(dump).toContain('INSERT INTO `TreeHead`');
    expect(dump).toContain('INSERT INTO `Unsequenced`');
    for (const row of original.latestHeads.trim().split('\n')) expect(dump.toUpperCase()).toContain(`0X${row.split('\t')[2]}`);
    expect(dump.toUpperCase()).not.toContain(newRoot.toUpperCase());
    expect(dump.toUpperCase()).not.toContain(queued.toUpperCase());
    expect(dump).not.toContain("'late'");
  });

  it('restored onto the old server, over rows written after the dump, the named dump (DUMP) gives the state of the dump back', async () => {
    // After the snapshot test the source holds a tree, a head and a queued leaf the dump has not.
    expect(await databaseFingerprint(source, DATABASE)).not.toEqual(original);
    await source.query(`ALTER USER root@'127.0.0.1' IDENTIFIED BY ${sqlText(ADMIN_PASSWORD)}`);
    const run = await runRestoreBlock(mkdtempSync(join(directory, 'operator-')), { MYSQL_PORT: String(source.port), DUMP: newestDump });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`restoring ${newestDump}\n`);
    expect(await databaseFingerprint(source, DATABASE)).toEqual(original);
  });
});

it('without MariaDB installed the tests fail, saying .ci/run installs it (they never skip)', () => {
  const empty = mkdtempSync(join(directory, 'no-mariadb-'));
  expect(() => mariaDbPrograms({ path: empty, serverDirectories: [] })).toThrow(
    'MariaDB is not installed (missing: mariadbd, mariadb-install-db, mysqldump, mysql): .ci/run installs it (apt-get install mariadb-server-core mariadb-client); these tests never skip',
  );
});

/** The README's restore block, as the operator runs it, with the environment its first block sets pointed at the test's servers. */
function runRestoreBlock(cwd: string, overrides: NodeJS.ProcessEnv = {}) {
  const blocks = readmeShellBlocks(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')).filter((block) => block.skipReason?.startsWith('run verbatim by test/k8s/mysql-restore.test.ts'));
  expect(blocks).toHaveLength(1);
  return runProcess('bash', ['-e', '-o', 'pipefail', '-c', blocks[0].script], {
    cwd,
    env: {
      ...obs.cliEnvironment(),
      OBS_ENDPOINT: obs.endpoint,
      OBS_REGION: 'eu-de',
      BACKUP_BUCKET: BUCKET,
      BACKUP_PREFIX: PREFIX,
      MYSQL_HOST: target.host,
      MYSQL_PORT: String(target.port),
      MYSQL_DATABASE: DATABASE,
      MYSQL_ADMIN_USER: 'root',
      MYSQL_ADMIN_PASSWORD: ADMIN_PASSWORD,
      ...overrides,
    },
  });
}

/** MariaDB's mysqldump warns once about the MySQL-only option the script passes with `loose-`; anything else on stderr stays. */
function withoutMariaDbGtidWarning(stderr: string): string {
  return stderr.replace(/^Warning: mysqldump: unknown variable 'loose-set-gtid-purged=OFF'\n/m, '');
}

function sqlText(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
