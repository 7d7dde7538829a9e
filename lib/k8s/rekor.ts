import { kplus } from './kplus';
import { Construct } from 'constructs';
import { SERVICE_NAMES } from '../config/service-urls';
import type { EncryptedKey } from '../pki/state-items';
import { NetworkWiring, type ServiceEndpoint } from './network-wiring';
import { RekorRedis, type RedisPersistence } from './rekor-redis';
import type { ServiceAddress } from './trillian';
import { publicHostnameProblem } from '../config/field-rules';
import { SECRET_ENVIRONMENT } from './server-inputs';
import { requireName, requirePinnedImage, requireProp, requireReplicas, requireRule } from './prop-validation';
import {
  httpComponentService,
  httpHealthProbes,
  secureContainer,
  secureDeployment,
  signingKeySecret,
  writableDirectory,
} from './workload';

const REKOR_PORT = 3000;
/** rekor-server v1.5.4 serves Prometheus metrics on :2112 (cmd/rekor-server/app/serve.go). */
const METRICS_PORT = 2112;
const SIGNER_DIRECTORY = '/var/run/rekor-signer';

export interface RekorProps {
  readonly namespace: string;
  /** @default 1 */
  readonly replicas?: number;
  /** The checkpoint origin: the public hostname, or the in-cluster one. */
  readonly hostname: string;
  /** Trillian log server's gRPC address. */
  readonly trillian: ServiceAddress;
  /** The Rekor tree id (from the tree Job's ConfigMap: the start-up gate). */
  readonly treeId: kplus.EnvValue;
  /** The log's signing key (secret) from the state. */
  readonly signingKey: EncryptedKey;
  /** Where Secrets go (the secrets chart). */
  readonly secretsScope: Construct;
  readonly image: string;
  readonly redisImage: string;
  /** Redis `requirepass` (secret). */
  readonly redisPassword: string;
  /**
   * The frozen shards (`rotate rekor-key`), oldest first: each tree's pinned id and the key it was
   * signed with. Rekor serves their entries and proofs. @default - none (one shard)
   */
  readonly inactiveShards?: readonly RekorShard[];
  /** Where Redis keeps its index (RekorRedisProps.persistence). @default - an emptyDir, rebuilt with backfill-redis */
  readonly redisPersistence?: RedisPersistence;
  /**
   * Serve reads only: every API endpoint but `createLogEntry` (a Rekor v1 that a migration to Rekor
   * v2 retired at its cut-over; its tree is frozen too). @default false
   */
  readonly readOnly?: boolean;
}

/**
 * The API endpoints of a read-only Rekor v1: every operationId rekor-server v1.5.4 knows but
 * `createLogEntry` (the flag `--enabled_api_endpoints`, cmd/rekor-server/app/root.go; an endpoint
 * not listed answers 501 Not Implemented, pkg/generated/restapi/configure_rekor_server.go).
 */
export const REKOR_READ_ONLY_ENDPOINTS = ['searchIndex', 'getLogInfo', 'getPublicKey', 'getLogProof', 'getLogEntryByIndex', 'getLogEntryByUUID', 'searchLogQuery'] as const;

/** A retired Rekor shard: its Trillian tree and its signing key (secret). */
export interface RekorShard {
  readonly generation: number;
  readonly treeId: string;
  readonly signingKey: EncryptedKey;
}

const SHARDS_DIRECTORY = '/var/run/rekor-shards';
const SHARDING_CONFIG_FILE = 'sharding.yaml';

/**
 * Rekor's `--trillian_log_server.sharding_config` file: the inactive shards, oldest first, each with
 * its tree id and signing key (fields of LogRange and signer.SigningConfig in sigstore/rekor v1.5.4,
 * pkg/sharding/ranges.go and pkg/signer/signer.go; `treeLength` Rekor reads from Trillian at start-up,
 * CompleteInitialization). It holds the key passwords: a Secret, never a ConfigMap.
 */
export function shardingConfig(shards: readonly RekorShard[]): string {
  return shards
    .map((shard) =>
      [
        `- treeID: ${shard.treeId}`,
        '  treeLength: 0',
        '  signingConfig:',
        `    signingSchemeOrKeyPath: ${SHARDS_DIRECTORY}/shard-g${shard.generation}.pem`,
        `    fileSignerPassword: "${shard.signingKey.password}"`,
      ].join('\n'),
    )
    .join('\n')
    .concat('\n');
}

/**
 * Rekor v1 (rekor-server) with its Redis search index. It signs checkpoints with the Rekor key from
 * the state (legacy-encrypted PEM, `--rekor_server.signer=<file>` with its password) and starts only
 * once the createtree Job has written the tree id. Service `rekor`, port 80.
 */
export class Rekor extends Construct {
  readonly replicas: number;
  readonly service: kplus.Service;
  /** Rekor's API (Service port 80). */
  readonly endpoint: ServiceEndpoint;
  readonly redis: RekorRedis;

  constructor(scope: Construct, id: string, props: RekorProps) {
    super(scope, id);
    this.replicas = props.replicas ?? 1;
    requireName(this, 'namespace', props.namespace);
    requireReplicas(this, 'replicas', this.replicas);
    requirePinnedImage(this, 'image', props.image);
    requireRule(this, 'hostname', props.hostname, publicHostnameProblem);

    this.redis = new RekorRedis(this, 'Redis', {
      namespace: props.namespace,
      secretsScope: props.secretsScope,
      password: props.redisPassword,
      image: props.redisImage,
      persistence: props.redisPersistence,
    });
    const name = SERVICE_NAMES.rekor;
    const { volume: signer, password } = signingKeySecret(this, {
      secretsScope: props.secretsScope,
      secretId: 'RekorSigner',
      secretName: `${name}-signer`,
      fileName: 'signing-key.pem',
      volumeId: 'SignerVolume',
      volumeName: 'signer',
      prop: 'signingKey',
      key: props.signingKey,
    });
    const tmp = writableDirectory(this, 'TmpVolume', 'tmp', 256);
    const shards = props.inactiveShards ?? [];
    for (const shard of shards) {
      requireProp(this, /^[1-9][0-9]{0,18}$/.test(shard.treeId), `inactiveShards[g${shard.generation}].treeId`, shard.treeId, 'a decimal Trillian tree id');
      requireProp(this, /^[A-Za-z0-9_-]+$/.test(shard.signingKey.password), `inactiveShards[g${shard.generation}].signingKey.password`, '<secret>', 'base64url characters only');
    }
    const shardVolume =
      shards.length === 0
        ? undefined
        : kplus.Volume.fromSecret(
            this,
            'ShardsVolume',
            new kplus.Secret(props.secretsScope, 'RekorShards', {
              metadata: { name: `${name}-shards` },
              stringData: {
                [SHARDING_CONFIG_FILE]: shardingConfig(shards),
                ...Object.fromEntries(shards.map((shard) => [`shard-g${shard.generation}.pem`, shard.signingKey.pem])),
              },
            }),
            { name: 'shards' },
          );
    const wiring = NetworkWiring.of(this);
    const trillian = wiring.connect(name, props.trillian, 'Trillian log server (gRPC)');
    const redis = wiring.connect(name, this.redis.address, 'search index');
    secureDeployment(this, 'Deployment', {
      name,
      replicas: this.replicas,
      metricsPort: METRICS_PORT,
      volumes: [signer, tmp, ...(shardVolume ? [shardVolume] : [])],
      containers: [
        secureContainer({
          name: 'rekor-server',
          image: props.image,
          args: [
            'serve',
            '--rekor_server.address=0.0.0.0',
            `--port=${REKOR_PORT}`,
            `--rekor_server.hostname=${props.hostname}`,
            `--trillian_log_server.address=${trillian.host}`,
            `--trillian_log_server.port=${trillian.port}`,
            '--trillian_log_server.tlog_id=$(TREE_ID)',
            // The frozen shards (sigstore/rekor v1.5.4 cmd/rekor-server/app/root.go: trillian_log_server.sharding_config).
            ...(shardVolume ? [`--trillian_log_server.sharding_config=${SHARDS_DIRECTORY}/${SHARDING_CONFIG_FILE}`] : []),
            `--redis_server.address=${redis.host}`,
            `--redis_server.port=${redis.port}`,
            `--rekor_server.signer=${SIGNER_DIRECTORY}/signing-key.pem`,
            '--log_type=prod',
            ...(props.readOnly ? [`--enabled_api_endpoints=${REKOR_READ_ONLY_ENDPOINTS.join(',')}`] : []),
          ],
          ports: [
            { number: REKOR_PORT, name: 'http' },
            { number: METRICS_PORT, name: 'metrics' },
          ],
          // The passwords through viper's environment, never on the command line (server-inputs.ts).
          envVariables: {
            TREE_ID: props.treeId,
            [SECRET_ENVIRONMENT.rekorSignerPassword]: password,
            [SECRET_ENVIRONMENT.rekorRedisPassword]: this.redis.password,
          },
          // Read-only root filesystem; Go spills large request bodies to /tmp.
          volumeMounts: [
            { volume: signer, path: SIGNER_DIRECTORY, readOnly: true },
            { volume: tmp, path: '/tmp' },
            ...(shardVolume ? [{ volume: shardVolume, path: SHARDS_DIRECTORY, readOnly: true }] : []),
          ],
          resources: { cpuMillis: { request: 100, limit: 1000 }, memoryMebibytes: { request: 128, limit: 1024 } },
          ...httpHealthProbes('/ping', REKOR_PORT),
        }),
      ],
    });
    ({ service: this.service, endpoint: this.endpoint } = httpComponentService(this, { name, httpPort: REKOR_PORT, metricsPort: METRICS_PORT }));
  }
}
