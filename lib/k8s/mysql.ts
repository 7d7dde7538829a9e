import { Duration } from 'cdk8s';
import { storageSize } from './storage-size';
import { kplus } from './kplus';
import { isIPv4 } from 'node:net';
import { Construct } from 'constructs';
import { databaseHostProblem, dnsSubdomainProblem, mysqlDatabaseNameProblem, storageQuantityProblem } from '../config/field-rules';
import { NetworkWiring, serviceEndpoint, type ExternalDestination, type ServiceEndpoint } from './network-wiring';
import { MYSQL_PASSWORD_FILE_VARIABLES } from './server-inputs';
import { requireName, requirePinnedImage, requireProp, requireRule } from './prop-validation';
import {
  componentService,
  secureContainer,
  secureDeployment,
  secureJob,
  writableDirectory,
} from './workload';

/** The uid/gid of the `mysql` user in the official MySQL image. */
const MYSQL_ID = 999;
const MYSQL_PORT = 3306;
const CREDENTIALS_DIRECTORY = '/etc/mysql-credentials';

/** How Trillian reaches its database: what its pods put into `--mysql_uri` and the TLS flags. */
export interface DatabaseConnection {
  /** The route its clients take: the in-cluster Service, or an address outside the cluster (network wiring). */
  readonly route: { readonly kind: 'service'; readonly endpoint: ServiceEndpoint } | { readonly kind: 'external'; readonly destination: ExternalDestination };
  /** Host name (an in-cluster Service DNS name, or the external host). */
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** Environment values for the user name and password. */
  readonly username: kplus.EnvValue;
  readonly password: kplus.EnvValue;
  /** CA to verify the server's TLS certificate with: a Secret and its key. @default - no TLS */
  readonly tlsCa?: { readonly secret: kplus.ISecret; readonly key: string };
}

export interface InClusterDatabaseProps {
  readonly kind: 'in-cluster';
  /** Size of the data volume, e.g. "5Gi". */
  readonly storageSize: string;
  /** @default - the cluster's default StorageClass */
  readonly storageClassName?: string;
  /** Password of MySQL's root user (secret). */
  readonly rootPassword: string;
  /** Password of the `trillian` user (secret). */
  readonly password: string;
  /** The MySQL image, pinned. */
  readonly image: string;
}

export interface ExternalDatabaseProps {
  readonly kind: 'external';
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** Existing Secret with keys `username` and `password` (created by the operator). */
  readonly credentialsSecretName: string;
  /** Existing Secret with key `ca.crt` to verify the server. @default - no TLS */
  readonly tlsCaSecretName?: string;
  /**
   * Address blocks the server is in, for the clients' egress policies (a host name cannot be matched).
   * @default - the host itself (`/32`) when it is an IPv4 address, else 0.0.0.0/0 (on the database port only)
   */
  readonly cidrs?: readonly string[];
}

export interface MySqlProps {
  readonly database: InClusterDatabaseProps | ExternalDatabaseProps;
  /** Namespace of the chart (for the in-cluster Service's DNS name). */
  readonly namespace: string;
  /** Where the in-cluster database's Secret goes (the secrets chart). */
  readonly secretsScope: Construct;
  /** The scaffolding createdb image, pinned. */
  readonly createdbImage: string;
}

/**
 * Trillian's MySQL: either an in-cluster MySQL 8.4 (Deployment with a PersistentVolumeClaim, strategy
 * Recreate, one replica) or an external server such as OTC RDS for MySQL. Either way a `createdb` Job
 * creates Trillian's tables and indexes if they are missing (idempotent), except for an external
 * server with a private CA, which createdb cannot verify: there the operator applies the schema once.
 * `connection` tells Trillian how to connect.
 */
export class MySql extends Construct {
  /** Name of the in-cluster Deployment, Service, PVC and Secret. */
  static readonly IN_CLUSTER_NAME = 'trillian-mysql';
  /** Name of the schema Job. */
  static readonly CREATEDB_JOB_NAME = 'trillian-createdb';

  readonly connection: DatabaseConnection;
  /** The schema Job, when there is one. */
  readonly createdbJob?: kplus.Job;

  constructor(scope: Construct, id: string, props: MySqlProps) {
    super(scope, id);
    requireName(this, 'namespace', props.namespace);
    requirePinnedImage(this, 'createdbImage', props.createdbImage);
    const database = props.database;
    if (database.kind === 'in-cluster') {
      this.connection = this.inCluster(database, props);
    } else {
      requireRule(this, 'database.host', database.host, databaseHostProblem);
      requireProp(this, Number.isInteger(database.port) && database.port > 0 && database.port < 65536, 'database.port', database.port, 'a TCP port (1-65535)');
      requireRule(this, 'database.database', database.database, mysqlDatabaseNameProblem);
      requireName(this, 'database.credentialsSecretName', database.credentialsSecretName);
      if (database.tlsCaSecretName !== undefined) requireName(this, 'database.tlsCaSecretName', database.tlsCaSecretName);
      const credentials = kplus.Secret.fromSecretName(this, 'Credentials', database.credentialsSecretName);
      const hostIsAddress = isIPv4(database.host);
      this.connection = {
        route: {
          kind: 'external',
          destination: {
            description: `external MySQL ${database.host}`,
            hostname: hostIsAddress ? undefined : database.host,
            cidrs: database.cidrs ?? (hostIsAddress ? [`${database.host}/32`] : ['0.0.0.0/0']),
            port: database.port,
            protocol: 'TCP',
          },
        },
        host: database.host,
        port: database.port,
        database: database.database,
        username: kplus.EnvValue.fromSecretValue({ secret: credentials, key: 'username' }),
        password: kplus.EnvValue.fromSecretValue({ secret: credentials, key: 'password' }),
        tlsCa: database.tlsCaSecretName
          ? { secret: kplus.Secret.fromSecretName(this, 'TlsCa', database.tlsCaSecretName), key: 'ca.crt' }
          : undefined,
      };
    }
    if (!this.connection.tlsCa) this.createdbJob = this.schemaJob(props.createdbImage);
  }

  private inCluster(database: InClusterDatabaseProps, props: MySqlProps): DatabaseConnection {
    requirePinnedImage(this, 'database.image', database.image);
    requireRule(this, 'database.storageSize', database.storageSize, storageQuantityProblem);
    if (database.storageClassName !== undefined) requireRule(this, 'database.storageClassName', database.storageClassName, dnsSubdomainProblem);
    for (const [prop, value] of [['database.rootPassword', database.rootPassword], ['database.password', database.password]] as const) {
      // The password goes into a DSN (user:password@tcp(...)): keep it to characters a DSN never splits on.
      requireProp(this, /^[A-Za-z0-9_-]{16,}$/.test(value), prop, '<secret>', 'at least 16 base64url characters');
    }
    const name = MySql.IN_CLUSTER_NAME;
    const databaseName = 'trillian';
    const username = 'trillian';
    const secret = new kplus.Secret(props.secretsScope, 'MySqlCredentials', {
      metadata: { name },
      stringData: { 'root-password': database.rootPassword, username, password: database.password },
    });
    const claim = new kplus.PersistentVolumeClaim(this, 'Data', {
      metadata: { name: `${name}-data` },
      accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE],
      storage: storageSize(database.storageSize),
      storageClassName: database.storageClassName,
    });
    const data = kplus.Volume.fromPersistentVolumeClaim(this, 'DataVolume', claim, { name: 'data' });
    // The passwords as files (the entrypoint's *_FILE variables, server-inputs.ts), mounted read-only.
    const credentials = kplus.Volume.fromSecret(this, 'CredentialsVolume', secret, {
      name: 'credentials',
      items: { 'root-password': { path: 'root-password' }, password: { path: 'password' } },
    });
    const run = writableDirectory(this, 'RunVolume', 'run', 16, true);
    const tmp = writableDirectory(this, 'TmpVolume', 'tmp', 256);
    // `mysqladmin ping` exits 0 whenever the server answers, even with "access denied": the probe
    // needs no credentials. Over TCP, so the temporary server of the first start (socket only) fails it.
    const ping = kplus.Probe.fromCommand(['mysqladmin', 'ping', '--host=127.0.0.1', '--silent'], {
      periodSeconds: Duration.seconds(10),
      timeoutSeconds: Duration.seconds(5),
      failureThreshold: 3,
    });
    secureDeployment(this, 'Deployment', {
      name,
      replicas: 1,
      // One writer on a ReadWriteOnce volume: the old pod must stop before the new one starts.
      strategy: kplus.DeploymentStrategy.recreate(),
      runAs: MYSQL_ID,
      volumes: [data, credentials, run, tmp],
      containers: [
        secureContainer({
          name: 'mysql',
          image: database.image,
          runAs: MYSQL_ID,
          // A data directory below the mount point: a fresh volume may hold lost+found, and MySQL 8
          // refuses to initialize a non-empty directory. The entrypoint creates it (fsGroup makes the
          // volume writable for the mysql group).
          args: ['--datadir=/var/lib/mysql/data'],
          ports: [{ number: MYSQL_PORT, name: 'mysql' }],
          envVariables: {
            [MYSQL_PASSWORD_FILE_VARIABLES.root]: kplus.EnvValue.fromValue(`${CREDENTIALS_DIRECTORY}/root-password`),
            MYSQL_DATABASE: kplus.EnvValue.fromValue(databaseName),
            MYSQL_USER: kplus.EnvValue.fromValue(username),
            [MYSQL_PASSWORD_FILE_VARIABLES.user]: kplus.EnvValue.fromValue(`${CREDENTIALS_DIRECTORY}/password`),
          },
          // Read-only root filesystem: MySQL writes its data, its socket and pid file, and temp files.
          volumeMounts: [
            { volume: data, path: '/var/lib/mysql' },
            { volume: credentials, path: CREDENTIALS_DIRECTORY, readOnly: true },
            { volume: run, path: '/var/run/mysqld' },
            { volume: tmp, path: '/tmp' },
          ],
          resources: { cpuMillis: { request: 250, limit: 1000 }, memoryMebibytes: { request: 512, limit: 1024 } },
          // First start initializes the data directory with a temporary server that does not listen on
          // TCP: allow five minutes before liveness takes over.
          startup: kplus.Probe.fromCommand(['mysqladmin', 'ping', '--host=127.0.0.1', '--silent'], {
            periodSeconds: Duration.seconds(10),
            timeoutSeconds: Duration.seconds(5),
            failureThreshold: 30,
          }),
          liveness: ping,
          readiness: ping,
        }),
      ],
    });
    const service = componentService(this, 'Service', { name, component: name, ports: [{ port: MYSQL_PORT, targetPort: MYSQL_PORT, name: 'mysql' }] });
    return {
      route: { kind: 'service', endpoint: serviceEndpoint(service, 'mysql') },
      host: `${name}.${props.namespace}.svc`,
      port: MYSQL_PORT,
      database: databaseName,
      username: kplus.EnvValue.fromSecretValue({ secret, key: 'username' }),
      password: kplus.EnvValue.fromSecretValue({ secret, key: 'password' }),
    };
  }

  /** createdb: CREATE TABLE/INDEX for whatever is missing; retries until the server answers. */
  private schemaJob(image: string): kplus.Job {
    const { connection } = this;
    connectToDatabase(this, MySql.CREATEDB_JOB_NAME, connection);
    return secureJob(this, 'CreateDb', {
      name: MySql.CREATEDB_JOB_NAME,
      backoffLimit: 20,
      container: secureContainer({
        name: 'createdb',
        image,
        args: [`--mysql_uri=$(MYSQL_USER):$(MYSQL_PASSWORD)@tcp(${connection.host}:${connection.port})/`, `--db_name=${connection.database}`],
        envVariables: { MYSQL_USER: connection.username, MYSQL_PASSWORD: connection.password },
        resources: { cpuMillis: { request: 50, limit: 200 }, memoryMebibytes: { request: 32, limit: 128 } },
      }),
    });
  }
}

/** Records `client`'s flow to the database (Service or external address) in the network wiring. */
export function connectToDatabase(scope: Construct, client: string, connection: DatabaseConnection): void {
  const wiring = NetworkWiring.of(scope);
  if (connection.route.kind === 'service') wiring.connect(client, connection.route.endpoint, 'MySQL');
  else wiring.connectExternal(client, connection.route.destination);
}

