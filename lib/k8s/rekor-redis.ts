import { kplus } from './kplus';
import { storageSize } from './storage-size';
import { Construct } from 'constructs';
import { serviceEndpoint } from './network-wiring';
import type { ServiceAddress } from './trillian';
import { REDIS_CONFIG_FILE } from './server-inputs';
import { dnsSubdomainProblem, storageQuantityProblem } from '../config/field-rules';
import { requireName, requirePinnedImage, requireProp, requireRule } from './prop-validation';
import { componentService, secureContainer, secureDeployment, writableDirectory } from './workload';

const REDIS_PORT = 6379;
const CONFIG_DIRECTORY = '/etc/redis';
/** uid of the `redis` user in the official Redis image. */
const REDIS_ID = 999;

export interface RekorRedisProps {
  readonly namespace: string;
  /** Where the password Secret goes (the secrets chart). */
  readonly secretsScope: Construct;
  /** The `requirepass` password (secret). */
  readonly password: string;
  /** The Redis image, pinned. */
  readonly image: string;
  /** Size of the data directory (an emptyDir). @default 1024 */
  readonly dataSizeMebibytes?: number;
  /**
   * Where the index lives: an emptyDir that a new pod starts empty (`rebuild`: the index is rebuilt from
   * the log with Rekor's backfill-redis, see the README), or a PersistentVolumeClaim (`volume`).
   * @default { kind: 'rebuild' }
   */
  readonly persistence?: RedisPersistence;
}

/** Where Rekor's Redis keeps its data. */
export type RedisPersistence = { readonly kind: 'rebuild' } | { readonly kind: 'volume'; readonly storageSize: string; readonly storageClassName?: string };

/**
 * Redis for Rekor's search index (entries by artifact hash, key and email), with a password. One
 * replica, append-only file on an emptyDir (the index is rebuilt from the log with Rekor's
 * backfill-redis; the log itself lives in Trillian's MySQL) or on a PersistentVolumeClaim.
 */
export class RekorRedis extends Construct {
  static readonly NAME = 'rekor-redis';

  readonly address: ServiceAddress;
  /** The password, as an environment value for Rekor. */
  readonly password: kplus.EnvValue;

  constructor(scope: Construct, id: string, props: RekorRedisProps) {
    super(scope, id);
    requireName(this, 'namespace', props.namespace);
    requirePinnedImage(this, 'image', props.image);
    requireProp(this, /^[A-Za-z0-9_-]{16,}$/.test(props.password), 'password', '<secret>', 'at least 16 base64url characters');
    const dataSize = props.dataSizeMebibytes ?? 1024;
    requireProp(this, Number.isInteger(dataSize) && dataSize >= 64, 'dataSizeMebibytes', dataSize, 'a whole number of MiB, at least 64');

    const name = RekorRedis.NAME;
    // One credential, two forms: `password` for Rekor's environment, `redis.conf` (requirepass) for
    // Redis, which mounts only that file: the password never appears on either command line.
    const secret = new kplus.Secret(props.secretsScope, 'RekorRedisPassword', {
      metadata: { name },
      stringData: { password: props.password, [REDIS_CONFIG_FILE]: `requirepass ${props.password}\n` },
    });
    this.password = kplus.EnvValue.fromSecretValue({ secret, key: 'password' });
    const config = kplus.Volume.fromSecret(this, 'ConfigVolume', secret, { name: 'config', items: { [REDIS_CONFIG_FILE]: { path: REDIS_CONFIG_FILE } } });
    const persistence = props.persistence ?? { kind: 'rebuild' };
    let data: kplus.Volume;
    if (persistence.kind === 'volume') {
      requireRule(this, 'persistence.storageSize', persistence.storageSize, storageQuantityProblem);
      if (persistence.storageClassName !== undefined) requireRule(this, 'persistence.storageClassName', persistence.storageClassName, dnsSubdomainProblem);
      const claim = new kplus.PersistentVolumeClaim(this, 'Data', {
        metadata: { name: `${RekorRedis.NAME}-data` },
        accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE],
        storage: storageSize(persistence.storageSize),
        storageClassName: persistence.storageClassName,
      });
      data = kplus.Volume.fromPersistentVolumeClaim(this, 'DataVolume', claim, { name: 'data' });
    } else {
      data = writableDirectory(this, 'DataVolume', 'data', dataSize);
    }
    // redis-cli reads REDISCLI_AUTH, so the probe needs no password on its command line.
    const ping = kplus.Probe.fromCommand(['sh', '-c', 'redis-cli ping | grep -q PONG']);
    secureDeployment(this, 'Deployment', {
      name,
      replicas: 1,
      strategy: kplus.DeploymentStrategy.recreate(),
      runAs: REDIS_ID,
      volumes: [config, data],
      containers: [
        secureContainer({
          name: 'redis',
          image: props.image,
          runAs: REDIS_ID,
          // The config file first (it holds requirepass), then the options (server-inputs.ts).
          args: [`${CONFIG_DIRECTORY}/${REDIS_CONFIG_FILE}`, '--bind', '0.0.0.0', '--port', String(REDIS_PORT), '--dir', '/data', '--appendonly', 'yes'],
          ports: [{ number: REDIS_PORT, name: 'redis' }],
          envVariables: { REDISCLI_AUTH: this.password },
          // Read-only root filesystem: Redis writes only its append-only file and snapshots to /data.
          volumeMounts: [
            { volume: config, path: CONFIG_DIRECTORY, readOnly: true },
            { volume: data, path: '/data' },
          ],
          resources: { cpuMillis: { request: 50, limit: 500 }, memoryMebibytes: { request: 64, limit: 512 } },
          liveness: ping,
          readiness: ping,
        }),
      ],
    });
    const service = componentService(this, 'Service', { name, component: name, ports: [{ port: REDIS_PORT, targetPort: REDIS_PORT, name: 'redis' }] });
    this.address = serviceEndpoint(service, 'redis');
  }
}

