import { kplus } from './kplus';
import { Construct } from 'constructs';
import { connectToDatabase, type DatabaseConnection } from './mysql';
import { TREE_ID_KEY } from './tree-job';
import { NetworkWiring, serviceEndpoint, type ServiceEndpoint } from './network-wiring';
import { TRILLIAN_FLAG_FILE_FLAG } from './server-inputs';
import { requireName, requirePinnedImage, requireProp, requireReplicas } from './prop-validation';
import {
  componentLabels,
  METRICS_PORT_NAME,
  componentService,
  httpHealthProbes,
  secureContainer,
  secureDeployment,
  writableDirectory,
} from './workload';

/** Trillian's ports (the helm chart's choice): gRPC 8091, HTTP (health, metrics) 8090. */
export const TRILLIAN_GRPC_PORT = 8091;
export const TRILLIAN_HTTP_PORT = 8090;

const DATABASE_FLAGS_DIRECTORY = '/etc/trillian-database';
const DATABASE_FLAGS_FILE = 'flags';

/**
 * Trillian's `--mysql_uri` flag as the flag file holds it: the credentials as `${MYSQL_USER}` and
 * `${MYSQL_PASSWORD}`, which Trillian expands from its environment after splitting the file into
 * words (google/trillian v1.7.3 cmd/flags.go; cmd/flags_test.go "one using an environment variable"),
 * so a value with spaces stays one word. Single-quoted, so the splitter leaves "(" and ")" alone. No
 * query parameters: with `--mysql_tls_ca`, Trillian appends "?tls=custom" itself.
 */
export function databaseUriFlag(database: { host: string; port: number; database: string }): string {
  return `'--mysql_uri=\${MYSQL_USER}:\${MYSQL_PASSWORD}@tcp(${database.host}:${database.port})/${database.database}'`;
}

/** A host and port inside the cluster, with the component behind it (for the network wiring). */
export type ServiceAddress = ServiceEndpoint;

export interface TrillianProps {
  readonly namespace: string;
  readonly database: DatabaseConnection;
  /** @default 1 */
  readonly logServerReplicas?: number;
  /** More than one elects a leader through a Kubernetes Lease per tree. @default 1 */
  readonly logSignerReplicas?: number;
  /**
   * With more than one signer: the trees they sequence, each with the ConfigMap createtree wrote its id
   * into. The Leases are named after the ids (Trillian's k8s election), so the Role can name them.
   * @default - none (required with more than one signer)
   */
  readonly electionTrees?: readonly { readonly treeId: string; readonly configMapName: string }[];
  /** An image with /bin/sh, for the init container that checks the tree ids (with more than one signer). */
  readonly shellImage?: string;
  readonly logServerImage: string;
  readonly logSignerImage: string;
}

/**
 * Trillian: the log server (gRPC API for Rekor, the CT log and createtree) and the log signer
 * (sequences and signs tree heads). One signer replica runs as master of every tree (`--force_master`)
 * and is replaced with strategy Recreate, so that two masters never overlap. More replicas elect a
 * leader per tree with Kubernetes Leases (`--election_system=k8s`); only then does the signer get a
 * service account, with exactly the Lease verbs the election uses (get, watch, create, update).
 */
export class Trillian extends Construct {
  static readonly LOG_SERVER_NAME = 'trillian-log-server';
  static readonly LOG_SIGNER_NAME = 'trillian-log-signer';
  /** The ConfigMap with the flag file that holds `--mysql_uri` (with `${MYSQL_USER}` and `${MYSQL_PASSWORD}`). */
  static readonly DATABASE_FLAGS_NAME = 'trillian-database-flags';

  private readonly databaseFlags: kplus.Volume;

  readonly logServerReplicas: number;
  readonly logSignerReplicas: number;
  /** The gRPC address of the log server, for Rekor, the CT log and createtree. */
  readonly logServerAddress: ServiceAddress;
  readonly logServerService: kplus.Service;

  constructor(scope: Construct, id: string, props: TrillianProps) {
    super(scope, id);
    this.logServerReplicas = props.logServerReplicas ?? 1;
    this.logSignerReplicas = props.logSignerReplicas ?? 1;
    requireName(this, 'namespace', props.namespace);
    requireReplicas(this, 'logServerReplicas', this.logServerReplicas);
    requireReplicas(this, 'logSignerReplicas', this.logSignerReplicas);
    requirePinnedImage(this, 'logServerImage', props.logServerImage);
    requirePinnedImage(this, 'logSignerImage', props.logSignerImage);

    // The DSN names the credentials as ${VAR}: Trillian expands them from its environment when it reads
    // the flag file (server-inputs.ts), so the password is on no command line and in no public file.
    const databaseFlags = new kplus.ConfigMap(this, 'DatabaseFlags', {
      metadata: { name: Trillian.DATABASE_FLAGS_NAME, labels: componentLabels(Trillian.LOG_SERVER_NAME) },
      data: { [DATABASE_FLAGS_FILE]: `${databaseUriFlag(props.database)}\n` },
    });
    this.databaseFlags = kplus.Volume.fromConfigMap(this, 'DatabaseFlagsVolume', databaseFlags, { name: 'database-flags' });

    this.deployment('LogServer', Trillian.LOG_SERVER_NAME, this.logServerReplicas, props.logServerImage, props.database, []);
    this.logServerService = componentService(this, 'LogServerService', {
      name: Trillian.LOG_SERVER_NAME,
      component: Trillian.LOG_SERVER_NAME,
      ports: [
        { port: TRILLIAN_GRPC_PORT, targetPort: TRILLIAN_GRPC_PORT, name: 'grpc' },
        // The HTTP endpoint serves /metrics (and /healthz, which only the kubelet reads).
        { port: TRILLIAN_HTTP_PORT, targetPort: TRILLIAN_HTTP_PORT, name: METRICS_PORT_NAME },
      ],
    });
    this.logServerAddress = serviceEndpoint(this.logServerService, 'grpc');

    // No client but the metrics scraper: a Service so that it (and a ServiceMonitor) finds the signers.
    componentService(this, 'LogSignerService', {
      name: Trillian.LOG_SIGNER_NAME,
      component: Trillian.LOG_SIGNER_NAME,
      ports: [{ port: TRILLIAN_HTTP_PORT, targetPort: TRILLIAN_HTTP_PORT, name: METRICS_PORT_NAME }],
    });

    if (this.logSignerReplicas === 1) {
      this.deployment('LogSigner', Trillian.LOG_SIGNER_NAME, 1, props.logSignerImage, props.database, ['--force_master=true']);
    } else {
      const serviceAccount = new kplus.ServiceAccount(this, 'LogSignerServiceAccount', {
        metadata: { name: Trillian.LOG_SIGNER_NAME, labels: componentLabels(Trillian.LOG_SIGNER_NAME) },
        automountToken: false,
      });
      const trees = props.electionTrees ?? [];
      requireProp(this, trees.length > 0 && trees.every((tree) => /^[1-9][0-9]{0,18}$/.test(tree.treeId)), 'electionTrees', trees, 'the ids of the trees the signers sequence (decimal)');
      requirePinnedImage(this, 'shellImage', props.shellImage ?? '');
      // Trillian's k8s election (google/trillian v1.7.3 util/election2/k8s/election.go) uses one Lease per
      // tree, named after the tree id: Get, then Update (Create only when missing), and a Watch with the
      // field selector metadata.name=<id>, which RBAC authorizes by resourceNames. The Leases are in the
      // manifest (an apply leaves the spec the signers write alone), so the Role needs no create, which
      // RBAC cannot restrict by name.
      const leases = trees.map(
        (tree) => new kplus.k8s.KubeLease(this, `Lease-${tree.treeId}`, { metadata: { name: tree.treeId, labels: componentLabels(Trillian.LOG_SIGNER_NAME) } }),
      );
      const roleName = `${Trillian.LOG_SIGNER_NAME}-election`;
      new kplus.k8s.KubeRole(this, 'LogSignerElectionRole', {
        metadata: { name: roleName, labels: componentLabels(Trillian.LOG_SIGNER_NAME) },
        rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: leases.map((lease) => lease.name), verbs: ['get', 'watch', 'update'] }],
      });
      const role = kplus.Role.fromRoleName(this, 'LogSignerElectionRoleRef', roleName);
      const binding = new kplus.RoleBinding(this, 'LogSignerElectionBinding', {
        metadata: { name: `${Trillian.LOG_SIGNER_NAME}-election`, labels: componentLabels(Trillian.LOG_SIGNER_NAME) },
        role,
      });
      binding.addSubjects(serviceAccount);
      NetworkWiring.of(this).connectToApiServer(Trillian.LOG_SIGNER_NAME, 'Lease election');
      this.deployment(
        'LogSigner',
        Trillian.LOG_SIGNER_NAME,
        this.logSignerReplicas,
        props.logSignerImage,
        props.database,
        ['--force_master=false', '--election_system=k8s', `--lock_namespace=${props.namespace}`, '--lock_holder_identity=$(POD_NAME)'],
        serviceAccount,
        [this.treeIdCheck(trees, props.shellImage!)],
      );
    }
  }

  /**
   * An init container that refuses to start an elected signer when a tree ConfigMap holds another id
   * than the configuration (e.g. after the ConfigMap was deleted and createtree made a new tree): the
   * Role only names the configured trees' Leases, so the signers could not sequence the new one.
   */
  private treeIdCheck(trees: readonly { treeId: string; configMapName: string }[], image: string): kplus.ContainerProps {
    const script = [
      'set -eu',
      'check() { if [ "$1" != "$2" ]; then echo "ConfigMap $3 holds treeID \'$1\', but services.trillian.treeIds names $2: ' +
        'the signers may only use the Leases named after the configured tree ids" >&2; exit 1; fi; }',
      ...trees.map((tree, index) => `check "$TREE_ID_${index}" ${tree.treeId} ${tree.configMapName}`),
      `echo "tree ids match the configuration: ${trees.map((tree) => tree.treeId).join(' ')}"`,
    ].join('\n');
    return secureContainer({
      name: 'check-tree-ids',
      image,
      command: ['/bin/sh', '-c', script],
      envVariables: Object.fromEntries(
        trees.map((tree, index) => [
          `TREE_ID_${index}`,
          kplus.EnvValue.fromConfigMap(kplus.ConfigMap.fromConfigMapName(this, `TreeConfigMap${index}`, tree.configMapName), TREE_ID_KEY),
        ]),
      ),
      resources: { cpuMillis: { request: 10, limit: 100 }, memoryMebibytes: { request: 16, limit: 64 } },
    });
  }

  private deployment(
    id: string,
    name: string,
    replicas: number,
    image: string,
    database: DatabaseConnection,
    extraArgs: string[],
    serviceAccount?: kplus.IServiceAccount,
    initContainers?: kplus.ContainerProps[],
  ): kplus.Deployment {
    const tmp = writableDirectory(this, `${id}TmpVolume`, 'tmp', 64);
    const volumes = [tmp, this.databaseFlags];
    const volumeMounts: kplus.VolumeMount[] = [
      { volume: tmp, path: '/tmp' },
      { volume: this.databaseFlags, path: DATABASE_FLAGS_DIRECTORY, readOnly: true },
    ];
    const args = [
      `${TRILLIAN_FLAG_FILE_FLAG}=${DATABASE_FLAGS_DIRECTORY}/${DATABASE_FLAGS_FILE}`,
      '--storage_system=mysql',
      '--quota_system=mysql',
      `--rpc_endpoint=0.0.0.0:${TRILLIAN_GRPC_PORT}`,
      `--http_endpoint=0.0.0.0:${TRILLIAN_HTTP_PORT}`,
      '--alsologtostderr',
    ];
    if (database.tlsCa) {
      const ca = kplus.Volume.fromSecret(this, `${id}DatabaseCaVolume`, database.tlsCa.secret, {
        name: 'database-ca',
        items: { [database.tlsCa.key]: { path: 'ca.crt' } },
      });
      volumes.push(ca);
      volumeMounts.push({ volume: ca, path: '/var/run/trillian-database-ca', readOnly: true });
      args.push('--mysql_tls_ca=/var/run/trillian-database-ca/ca.crt', `--mysql_server_name=${database.host}`);
    }
    connectToDatabase(this, name, database);
    const envVariables: Record<string, kplus.EnvValue> = { MYSQL_USER: database.username, MYSQL_PASSWORD: database.password };
    if (serviceAccount) envVariables.POD_NAME = kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME);
    return secureDeployment(this, id, {
      name,
      replicas,
      metricsPort: TRILLIAN_HTTP_PORT,
      serviceAccount,
      strategy: extraArgs.includes('--force_master=true') ? kplus.DeploymentStrategy.recreate() : undefined,
      initContainers,
      volumes,
      containers: [
        secureContainer({
          name: name.replace(/^trillian-/, ''),
          image,
          args: [...args, ...extraArgs],
          ports: [
            { number: TRILLIAN_GRPC_PORT, name: 'grpc' },
            { number: TRILLIAN_HTTP_PORT, name: 'http' },
          ],
          envVariables,
          volumeMounts,
          resources: { cpuMillis: { request: 100, limit: 1000 }, memoryMebibytes: { request: 128, limit: 512 } },
          ...httpHealthProbes('/healthz', TRILLIAN_HTTP_PORT),
        }),
      ],
    });
  }
}
