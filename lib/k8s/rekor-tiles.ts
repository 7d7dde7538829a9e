import { kplus } from './kplus';
import { Construct } from 'constructs';
import { publicHostnameProblem } from '../config/field-rules';
import { SERVICE_NAMES } from '../config/service-urls';
import type { ServiceEndpoint } from './network-wiring';
import { requireName, requirePinnedImage, requireRule } from './prop-validation';
import { tileStorageVolume, unencryptedKeySecret } from './tile-log-storage';
import { httpComponentService, httpHealthProbes, secureContainer, secureDeployment, writableDirectory } from './workload';

const HTTP_PORT = 3000;
const METRICS_PORT = 2112;
const SIGNER_DIRECTORY = '/var/run/rekor-signer';
const SIGNER_FILE = 'signing-key.pem';
const STORAGE_DIRECTORY = '/var/lib/rekor-tiles';

/**
 * Every flag RekorTiles passes, each checked in sigstore/rekor-tiles **v2.2.1** (the pinned image,
 * lib/config/images.ts `rekorTilesPosix`). The release image (Dockerfile.release) is distroless
 * `nonroot` with `CMD ["rekor-server", "serve"]` and no entrypoint, so the container's command is
 * the binary and its `serve` subcommand. A test checks that the Deployment passes exactly these.
 */
export const REKOR_TILES_FLAGS = {
  '--http-address': 'internal/cli/flags.go (default 127.0.0.1: set to 0.0.0.0 to serve the Service)',
  '--http-port': 'internal/cli/flags.go (default 3000)',
  '--http-metrics-port': 'internal/cli/flags.go (default 2112; bound on --http-address, internal/server/httpconfig.go HTTPMetricsTarget)',
  '--hostname': 'internal/cli/flags.go ("public hostname, used as the checkpoint origin"; also the origin of the log id, cmd/rekor-server/posix/app/serve.go note.KeyHash)',
  '--storage-dir': 'cmd/rekor-server/posix/app/serve.go ("directory for tile and checkpoint storage for a POSIX log")',
  '--persistent-antispam': 'internal/cli/flags.go (antispam index under <storage-dir>/.state/antispam, internal/tessera/posix/posix.go)',
  '--signer-filepath': 'cmd/rekor-server/posix/app/serve.go (read by internal/signerverifier/file.go NewFileSignerVerifier)',
} as const;

export interface RekorTilesProps {
  readonly namespace: string;
  /**
   * The Deployment and Service name. `rekor-tiles` beside the Rekor v1 it replaces (a migration:
   * lib/lifecycle/log-migrations.ts), which keeps `rekor`. @default rekor
   */
  readonly name?: string;
  /** The checkpoint origin (`--hostname`): the public hostname, or `rekor.<namespace>.svc` (lib/config/log-origins.ts). */
  readonly origin: string;
  /** The Ed25519 (or ECDSA) signing key, unencrypted PKCS#8 PEM (secret): the server takes no password off its command line. */
  readonly signingKeyPem: string;
  /** The tile volume. */
  readonly storage: { readonly size: string; readonly storageClassName?: string };
  /** Where Secrets go (the secrets chart). */
  readonly secretsScope: Construct;
  /** The pinned rekor-tiles POSIX image. */
  readonly image: string;
}

/**
 * Rekor v2 (sigstore/rekor-tiles, POSIX backend): a tile-based log on Trillian-Tessera, no Trillian,
 * MySQL or Redis. Tiles, checkpoints and the antispam index live on a ReadWriteOnce
 * PersistentVolumeClaim (`rekor-tiles-storage`), so there is exactly one replica, replaced with
 * strategy Recreate (two appenders never share the volume). Checkpoints are signed with the Rekor v2
 * key from the state under the origin `origin`. Serves the Rekor v2 API (`/api/v2/…`, reads of tiles
 * and checkpoints included) on Service `rekor`, port 80; gRPC stays on the pod's loopback (the HTTP
 * gateway's only client). Probes `/healthz` (the gateway's gRPC health check).
 */
export class RekorTiles extends Construct {
  readonly replicas = 1;
  readonly service: kplus.Service;
  /** Rekor's API (Service port 80). */
  readonly endpoint: ServiceEndpoint;
  readonly origin: string;
  readonly storageClaim: kplus.PersistentVolumeClaim;

  constructor(scope: Construct, id: string, props: RekorTilesProps) {
    super(scope, id);
    requireName(this, 'namespace', props.namespace);
    requirePinnedImage(this, 'image', props.image);
    requireRule(this, 'origin', props.origin, publicHostnameProblem);
    this.origin = props.origin;

    const name = props.name ?? SERVICE_NAMES.rekor;
    requireName(this, 'name', name);
    const signer = unencryptedKeySecret(this, {
      secretsScope: props.secretsScope,
      secretId: 'RekorTilesSigner',
      secretName: 'rekor-tiles-signer',
      fileName: SIGNER_FILE,
      prop: 'signingKeyPem',
      pem: props.signingKeyPem,
    });
    const { claim, volume: storage } = tileStorageVolume(this, { claimName: 'rekor-tiles-storage', ...props.storage });
    this.storageClaim = claim;
    const tmp = writableDirectory(this, 'TmpVolume', 'tmp', 256);
    const args: Record<keyof typeof REKOR_TILES_FLAGS, string | undefined> = {
      '--http-address': '0.0.0.0',
      '--http-port': String(HTTP_PORT),
      '--http-metrics-port': String(METRICS_PORT),
      '--hostname': props.origin,
      '--storage-dir': STORAGE_DIRECTORY,
      '--persistent-antispam': undefined,
      '--signer-filepath': `${SIGNER_DIRECTORY}/${SIGNER_FILE}`,
    };
    secureDeployment(this, 'Deployment', {
      name,
      replicas: this.replicas,
      metricsPort: METRICS_PORT,
      // One writer on a ReadWriteOnce volume: the old pod stops before the new one starts.
      strategy: kplus.DeploymentStrategy.recreate(),
      volumes: [signer, storage, tmp],
      containers: [
        secureContainer({
          name: 'rekor-server',
          image: props.image,
          command: ['/usr/local/bin/rekor-server', 'serve'],
          args: Object.entries(args).map(([flag, value]) => (value === undefined ? flag : `${flag}=${value}`)),
          ports: [
            { number: HTTP_PORT, name: 'http' },
            { number: METRICS_PORT, name: 'metrics' },
          ],
          volumeMounts: [
            { volume: signer, path: SIGNER_DIRECTORY, readOnly: true },
            { volume: storage, path: STORAGE_DIRECTORY },
            { volume: tmp, path: '/tmp' },
          ],
          resources: { cpuMillis: { request: 100, limit: 1000 }, memoryMebibytes: { request: 128, limit: 1024 } },
          ...httpHealthProbes('/healthz', HTTP_PORT),
        }),
      ],
    });
    ({ service: this.service, endpoint: this.endpoint } = httpComponentService(this, { name, httpPort: HTTP_PORT, metricsPort: METRICS_PORT }));
  }
}
