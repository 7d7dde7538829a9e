import { Duration } from 'cdk8s';
import { kplus } from './kplus';
import { Construct } from 'constructs';
import { NetworkWiring } from './network-wiring';
import { connectToDatabase, type DatabaseConnection } from './mysql';
import { requireName, requirePinnedImage, requireProp } from './prop-validation';
import { secureContainer, secureCronJob, writableDirectory } from './workload';

export interface MySqlBackupProps {
  /** How the database is reached (MySql.connection): host, credentials, TLS CA. */
  readonly connection: DatabaseConnection;
  /** Cron schedule, five fields (UTC). */
  readonly schedule: string;
  /** The OBS bucket the dumps go to. */
  readonly bucket: string;
  /** Key prefix of the dumps: `<prefix>/<database>-<UTC time>.sql.gz`. */
  readonly prefix: string;
  /** OTC region of the bucket (SigV4 signing region). */
  readonly region: string;
  /** The OBS (S3 API) endpoint, `https://obs.<region>.otc.t-systems.com`. */
  readonly endpoint: string;
  /** Dumps older than this many days are deleted after each successful upload. */
  readonly retentionDays: number;
  /** Existing Secret with keys `access-key` and `secret-key`: an AK/SK allowed to put, list and delete under the prefix. */
  readonly credentialsSecretName: string;
  /** Address blocks OBS is reached at, for the egress policy (a host name cannot be matched). */
  readonly obsCidrs: readonly string[];
  /** The MySQL image (its mysqldump), pinned. */
  readonly mysqlImage: string;
  /** An image with /bin/sh, curl (with --aws-sigv4, 7.75+), gzip, sed and date, pinned. */
  readonly curlImage: string;
  /** Size of the scratch volume holding one dump. @default 2048 */
  readonly scratchMebibytes?: number;
}

/**
 * Trillian's database, dumped on a schedule to OBS: an init container runs `mysqldump
 * --single-transaction` (one consistent InnoDB snapshot, no table locks; `--no-tablespaces` so the
 * `trillian` user needs no PROCESS privilege) into a scratch volume; the main container checks the
 * dump is complete ("-- Dump completed"), gzips it, uploads it with curl's SigV4 signing to
 * `<prefix>/<database>-<UTC time>.sql.gz` (encrypted by the bucket's default SSE-KMS), then deletes the
 * dumps under the prefix older than `retentionDays` (in a versioned bucket a delete leaves a
 * noncurrent version, which the bucket's lifecycle rule expires). Passwords and keys reach the
 * tools through files written into a memory volume (mode 0600), never through a command line.
 * Any failure fails the Job (`kube_job_status_failed`).
 */
export class MySqlBackup extends Construct {
  static readonly NAME = 'trillian-mysql-backup';
  readonly cronJob: kplus.CronJob;
  /** The scripts the two containers run. */
  readonly dumpScript: string;
  readonly uploadScript: string;

  constructor(scope: Construct, id: string, props: MySqlBackupProps) {
    super(scope, id);
    requirePinnedImage(this, 'mysqlImage', props.mysqlImage);
    requirePinnedImage(this, 'curlImage', props.curlImage);
    const fields = props.schedule.trim().split(/\s+/);
    requireProp(this, fields.length === 5, 'schedule', props.schedule, 'a cron schedule of five fields, e.g. "30 2 * * *"');
    requireProp(this, /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(props.bucket), 'bucket', props.bucket, 'an OBS bucket name');
    requireProp(this, /^[a-z0-9][a-z0-9._/-]{0,200}$/.test(props.prefix) && !props.prefix.endsWith('/'), 'prefix', props.prefix, 'an object key prefix without a trailing "/"');
    requireProp(this, Number.isInteger(props.retentionDays) && props.retentionDays >= 1 && props.retentionDays <= 3650, 'retentionDays', props.retentionDays, 'a whole number of days from 1 to 3650');
    // https only: the requests carry the AK/SK signature. Plain http is let through for a loopback
    // address alone (a test's S3 stand-in; nothing leaves the pod), never for a host on the network.
    const loopback = /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(props.endpoint);
    requireProp(this, loopback || /^https:\/\/[a-z0-9.-]+(:\d+)?$/.test(props.endpoint), 'endpoint', props.endpoint, 'an https URL without path');
    requireName(this, 'credentialsSecretName', props.credentialsSecretName);
    const scratchSize = props.scratchMebibytes ?? 2048;
    requireProp(this, Number.isInteger(scratchSize) && scratchSize >= 64, 'scratchMebibytes', scratchSize, 'a whole number of MiB, at least 64');

    const name = MySqlBackup.NAME;
    const { connection } = props;
    const wiring = NetworkWiring.of(this);
    connectToDatabase(this, name, connection);
    const host = new URL(props.endpoint).hostname;
    wiring.connectExternal(name, { description: `OBS ${host} (MySQL backups)`, hostname: host, cidrs: props.obsCidrs, port: 443, protocol: 'TCP' });

    const scratch = writableDirectory(this, 'ScratchVolume', 'scratch', scratchSize);
    const secrets = writableDirectory(this, 'SecretsVolume', 'secrets', 1, true);
    const obsCredentials = kplus.Volume.fromSecret(this, 'ObsCredentialsVolume', kplus.Secret.fromSecretName(this, 'ObsCredentials', props.credentialsSecretName), {
      name: 'obs-credentials',
      items: { 'access-key': { path: 'access-key' }, 'secret-key': { path: 'secret-key' } },
    });
    const tlsCa = connection.tlsCa ? kplus.Volume.fromSecret(this, 'TlsCaVolume', connection.tlsCa.secret, { name: 'tls-ca', items: { [connection.tlsCa.key]: { path: 'ca.crt' } } }) : undefined;

    // mysqldump reads the password from a defaults file; printf is a shell builtin (no process, no
    // argv), sed reads the value on stdin. In an option file an unquoted `#` starts a comment and
    // outer spaces are trimmed, so each value is written in double quotes with `\` and `"` escaped
    // (mysql/mysql-server mysys/my_default.cc: remove_end_comment and the quote and escape handling
    // of search_default_file_with_ext; MariaDB's mysys/my_default.c does the same). The MySQL image
    // has sed (docker-library/mysql 8.4/Dockerfile.oracle runs `sed -i` on /etc/my.cnf). The file goes
    // when the script exits, also on a failure.
    // --set-gtid-purged=OFF: on a server with GTIDs (OTC RDS for MySQL) the default AUTO writes
    // `SET @@GLOBAL.GTID_PURGED` and `SET @@SESSION.SQL_LOG_BIN=0` into the dump
    // (mysql/mysql-server client/mysqldump.cc: process_set_gtid_purged), which a restore onto a
    // server with its own GTIDs, or by an account without SUPER, refuses; and since MySQL 8.0.32 it
    // makes --single-transaction take FLUSH TABLES WITH READ LOCK, which needs RELOAD, a privilege
    // Trillian's user does not have (MySQL bug #105761). `loose-`: a client without the option
    // (MariaDB's mysqldump, in the tests) warns and goes on.
    this.dumpScript = [
      'set -eu',
      'umask 077',
      "trap 'rm -f /secrets/my.cnf' EXIT",
      "option_value() { printf '%s' \"$1\" | sed 's/[\\\\\"]/\\\\&/g'; }",
      "printf '[client]\\nuser=\"%s\"\\npassword=\"%s\"\\n' \"$(option_value \"$MYSQL_USER\")\" \"$(option_value \"$MYSQL_PASSWORD\")\" > /secrets/my.cnf",
      'mysqldump --defaults-extra-file=/secrets/my.cnf' +
        ` --host=${connection.host} --port=${connection.port}` +
        (tlsCa ? ' --ssl-mode=VERIFY_IDENTITY --ssl-ca=/tls/ca.crt' : '') +
        ' --single-transaction --quick --no-tablespaces --routines --triggers --hex-blob --loose-set-gtid-purged=OFF' +
        ` --databases ${connection.database} > /scratch/dump.sql`,
    ].join('\n');
    const base = `${props.endpoint}/${props.bucket}`;
    // SigV4 for S3 needs x-amz-content-sha256; an unsigned payload over TLS, as the S3 API allows.
    const curl = `curl -fsS --max-time 600 --retry 3 -K /secrets/curlrc --aws-sigv4 "aws:amz:${props.region}:s3" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD"`;
    this.uploadScript = [
      'set -eu',
      'umask 077',
      "trap 'rm -f /secrets/curlrc' EXIT",
      'tail -n 1 /scratch/dump.sql | grep -q "^-- Dump completed" || { echo "backup: the dump is incomplete" >&2; exit 1; }',
      "printf 'user = \"%s:%s\"\\n' \"$(cat /obs/access-key)\" \"$(cat /obs/secret-key)\" > /secrets/curlrc",
      'now=$(date -u +%Y%m%dT%H%M%SZ)',
      `key="${props.prefix}/${connection.database}-$now.sql.gz"`,
      'gzip -9 /scratch/dump.sql',
      `${curl} -T /scratch/dump.sql.gz "${base}/$key"`,
      'echo "backup: uploaded $key ($(wc -c < /scratch/dump.sql.gz) bytes)"',
      // Retention: the keys carry their UTC time, so "older than the cutoff" is a string comparison.
      `cutoff="${props.prefix}/${connection.database}-$(date -u -d "@$(( $(date +%s) - ${props.retentionDays} * 86400 ))" +%Y%m%dT%H%M%SZ)"`,
      `${curl} "${base}/?list-type=2&prefix=${props.prefix}/" | sed 's/<Key>/\\n<Key>/g' | sed -n 's:^<Key>\\([^<]*\\)</Key>.*:\\1:p' | while read -r old; do`,
      '  if [ "$old" != "$cutoff" ] && [ "$(printf \'%s\\n%s\\n\' "$old" "$cutoff" | LC_ALL=C sort | head -n 1)" = "$old" ]; then',
      `    ${curl} -X DELETE "${base}/$old" && echo "backup: deleted $old (older than ${props.retentionDays} days)"`,
      '  fi',
      'done',
    ].join('\n');

    this.cronJob = secureCronJob(this, 'CronJob', {
      name,
      schedule: fields,
      startingDeadline: Duration.hours(1),
      successfulJobsRetained: 3,
      failedJobsRetained: 3,
      backoffLimit: 1,
      activeDeadline: Duration.hours(2),
      volumes: [scratch, secrets, obsCredentials, ...(tlsCa ? [tlsCa] : [])],
      initContainers: [
        secureContainer({
          name: 'mysqldump',
          image: props.mysqlImage,
          command: ['/bin/sh', '-c', this.dumpScript],
          envVariables: { MYSQL_USER: connection.username, MYSQL_PASSWORD: connection.password },
          volumeMounts: [
            { volume: scratch, path: '/scratch' },
            { volume: secrets, path: '/secrets' },
            ...(tlsCa ? [{ volume: tlsCa, path: '/tls', readOnly: true }] : []),
          ],
          resources: { cpuMillis: { request: 100, limit: 1000 }, memoryMebibytes: { request: 128, limit: 512 } },
        }),
      ],
      containers: [
        secureContainer({
          name: 'upload',
          image: props.curlImage,
          command: ['/bin/sh', '-c', this.uploadScript],
          volumeMounts: [
            { volume: scratch, path: '/scratch' },
            { volume: secrets, path: '/secrets' },
            { volume: obsCredentials, path: '/obs', readOnly: true },
          ],
          resources: { cpuMillis: { request: 50, limit: 500 }, memoryMebibytes: { request: 32, limit: 128 } },
        }),
      ],
    });
  }
}
