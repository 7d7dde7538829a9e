import { kplus } from './kplus';
import { Construct } from 'constructs';
import { ctlogPrefixProblem } from '../config/field-rules';
import { SERVICE_NAMES } from '../config/service-urls';
import type { ServiceEndpoint } from './network-wiring';
import { requireName, requirePinnedImage, requireProp, requireRule } from './prop-validation';
import { tileStorageVolume, unencryptedKeySecret } from './tile-log-storage';
import { httpComponentService, httpHealthProbes, secureContainer, secureDeployment, writableDirectory } from './workload';

const HTTP_PORT = 6962;
const SIGNER_DIRECTORY = '/var/run/ctlog-signer';
const SIGNER_FILE = 'private.pem';
const ROOTS_DIRECTORY = '/etc/ctlog-roots';
const STORAGE_DIRECTORY = '/var/lib/tesseract';

/**
 * Every flag TesseraCt passes, each checked in transparency-dev/tesseract **v0.1.1** (the pinned
 * image, lib/config/images.ts `tesseractPosix`; built by ko on distroless `nonroot`, .ko.yaml, so the
 * binary is the entrypoint). All are Go `flag`s of cmd/tesseract/posix/main.go. A test checks that the
 * Deployment passes exactly these.
 */
export const TESSERACT_FLAGS = {
  '--http_endpoint': 'cmd/tesseract/posix/main.go (default localhost:6962)',
  '--origin': 'cmd/tesseract/posix/main.go ("MUST match the log\'s submission prefix as per https://c2sp.org/static-ct-api")',
  '--path_prefix': 'cmd/tesseract/posix/main.go (endpoints at HOST:PATH_PREFIX/ct/v1/…, internal/ct/handlers.go NewPathHandlers)',
  '--storage_dir': 'cmd/tesseract/posix/main.go ("Path to root of log storage"; antispam under <storage_dir>/.state/antispam)',
  '--private_key': 'cmd/tesseract/posix/main.go (signerFromFlags: pem.Decode + x509.ParseECPrivateKey, an unencrypted SEC1 key)',
  '--roots_pem_file': 'cmd/tesseract/posix/main.go (ctlog.go newChainValidator: the roots chains must end at)',
  '--ext_key_usages': 'cmd/tesseract/posix/main.go (comma-separated x509 usages, ctlog.go newChainValidator)',
  '--accept_sha1_signing_algorithms': 'cmd/tesseract/posix/main.go (default true; Fulcio never signs with SHA-1)',
} as const;

export interface TesseraCtProps {
  readonly namespace: string;
  /**
   * The Deployment and Service name (and of its roots ConfigMap, `<name>-roots`). `ctlog-tiles`
   * beside the ct_server it replaces (a migration: lib/lifecycle/log-migrations.ts), which keeps
   * `ctlog`. @default ctlog
   */
  readonly name?: string;
  /** URL path prefix: the log's endpoints are `/<prefix>/ct/v1/…`, as with ct_server. */
  readonly prefix: string;
  /** The checkpoint origin: the log's URL without the scheme, prefix included (lib/config/log-origins.ts). */
  readonly origin: string;
  /** PEM roots the log accepts chains to: the Fulcio root. */
  readonly rootsPem: string;
  /** The ECDSA P-256 signing key, unencrypted SEC1 PEM (secret): TesseraCT v0.1.1 reads no password. */
  readonly signingKeyPem: string;
  /** The tile volume. */
  readonly storage: { readonly size: string; readonly storageClassName?: string };
  readonly secretsScope: Construct;
  /** The pinned TesseraCT POSIX image. */
  readonly image: string;
}

/**
 * The Certificate Transparency log as TesseraCT (static-ct-api on Trillian-Tessera, POSIX backend):
 * no Trillian, MySQL or tree Job. It serves the submission APIs Fulcio uses (`add-pre-chain`,
 * `add-chain`, `get-roots`) under `/<prefix>/ct/v1/` on Service `ctlog`, port 80, accepts only
 * chains to the Fulcio root with EKU codeSigning, and signs SCTs and checkpoints with the TesseraCT key
 * from the state. Tiles, checkpoints and the antispam index live on a ReadWriteOnce
 * PersistentVolumeClaim (`tesseract-storage`): one replica, strategy Recreate. The static-ct-api
 * monitoring endpoints (tiles, checkpoint) are files on that volume; TesseraCT does not serve them.
 */
export class TesseraCt extends Construct {
  readonly replicas = 1;
  readonly service: kplus.Service;
  /** The log's HTTP API (Service port 80), which Fulcio submits to. */
  readonly endpoint: ServiceEndpoint;
  readonly prefix: string;
  readonly origin: string;
  readonly storageClaim: kplus.PersistentVolumeClaim;

  constructor(scope: Construct, id: string, props: TesseraCtProps) {
    super(scope, id);
    requireName(this, 'namespace', props.namespace);
    requirePinnedImage(this, 'image', props.image);
    requireRule(this, 'prefix', props.prefix, ctlogPrefixProblem);
    requireProp(this, props.origin.endsWith(`/${props.prefix}`) && !/[\s+]/.test(props.origin), 'origin', props.origin, `the log URL without scheme, ending in "/${props.prefix}"`);
    requireProp(this, /^-----BEGIN CERTIFICATE-----/.test(props.rootsPem.trim()), 'rootsPem', '<pem>', 'PEM certificates');
    this.prefix = props.prefix;
    this.origin = props.origin;

    const name = props.name ?? SERVICE_NAMES.ctlog;
    requireName(this, 'name', name);
    const roots = new kplus.ConfigMap(this, 'Roots', { metadata: { name: `${name}-roots` }, data: { 'roots.pem': props.rootsPem } });
    const rootsVolume = kplus.Volume.fromConfigMap(this, 'RootsVolume', roots, { name: 'roots' });
    const signer = unencryptedKeySecret(this, {
      secretsScope: props.secretsScope,
      secretId: 'TesseraCtSigner',
      secretName: 'ctlog-tesseract-signer',
      fileName: SIGNER_FILE,
      prop: 'signingKeyPem',
      pem: props.signingKeyPem,
    });
    const { claim, volume: storage } = tileStorageVolume(this, { claimName: 'tesseract-storage', ...props.storage });
    this.storageClaim = claim;
    const tmp = writableDirectory(this, 'TmpVolume', 'tmp', 64);
    const args: Record<keyof typeof TESSERACT_FLAGS, string> = {
      '--http_endpoint': `0.0.0.0:${HTTP_PORT}`,
      '--origin': props.origin,
      '--path_prefix': props.prefix,
      '--storage_dir': STORAGE_DIRECTORY,
      '--private_key': `${SIGNER_DIRECTORY}/${SIGNER_FILE}`,
      '--roots_pem_file': `${ROOTS_DIRECTORY}/roots.pem`,
      '--ext_key_usages': 'CodeSigning',
      '--accept_sha1_signing_algorithms': 'false',
    };
    secureDeployment(this, 'Deployment', {
      name,
      replicas: this.replicas,
      strategy: kplus.DeploymentStrategy.recreate(),
      volumes: [rootsVolume, signer, storage, tmp],
      containers: [
        secureContainer({
          name: 'tesseract',
          image: props.image,
          args: Object.entries(args).map(([flag, value]) => `${flag}=${value}`),
          ports: [{ number: HTTP_PORT, name: 'http' }],
          volumeMounts: [
            { volume: rootsVolume, path: ROOTS_DIRECTORY, readOnly: true },
            { volume: signer, path: SIGNER_DIRECTORY, readOnly: true },
            { volume: storage, path: STORAGE_DIRECTORY },
            { volume: tmp, path: '/tmp' },
          ],
          resources: { cpuMillis: { request: 100, limit: 1000 }, memoryMebibytes: { request: 128, limit: 1024 } },
          // internal/ct ctlog.go NewLogHandler registers /healthz at the root, outside the prefix.
          ...httpHealthProbes('/healthz', HTTP_PORT),
        }),
      ],
    });
    ({ service: this.service, endpoint: this.endpoint } = httpComponentService(this, { name, httpPort: HTTP_PORT }));
  }
}
