import { kplus } from './kplus';
import { Construct } from 'constructs';
import { SERVICE_NAMES } from '../config/service-urls';
import { ChartError } from '../errors';
import type { OutputFile } from '../trust/trust-outputs';
import type { ServiceEndpoint } from './network-wiring';
import { requireName, requirePinnedImage, requireProp, requireReplicas } from './prop-validation';
import { httpComponentService, httpHealthProbes, secureContainer, secureDeployment } from './workload';

const HTTP_PORT = 8080;
const TARGET_DIRECTORY = '/var/run/tuf';

/**
 * What the API server accepts for one ConfigMap (its `data` plus everything else must stay under
 * 1 MiB); we keep a margin for metadata and the last-applied annotation of client-side apply.
 */
export const CONFIGMAP_DATA_LIMIT_BYTES = 1024 * 1024 - 64 * 1024;

const PATH_SEGMENT = /^[A-Za-z0-9._-]+$/;

export interface TufServerProps {
  readonly namespace: string;
  /** @default 1 */
  readonly replicas?: number;
  /**
   * The files to serve, by path relative to the repository root (subdirectories allowed:
   * `1.root.json`, `targets/<sha256>.trusted_root.json`). UTF-8 text.
   */
  readonly files: readonly OutputFile[];
  /** Path the probes fetch. @default - "timestamp.json" if served, else "trusted_root.json", else the first file */
  readonly probePath?: string;
  /** The scaffolding TUF server image, pinned. */
  readonly image: string;
}

/**
 * Serves a prebuilt directory over HTTP (the scaffolding TUF server in `--mode=serve`: a plain file
 * server, no keys, no repository of its own), so several replicas serve identical bytes. The files
 * live in one ConfigMap whose keys are mapped back to their paths; a ConfigMap holds at most ~1 MiB,
 * which the constructor checks. Service `tuf`, port 80.
 */
export class TufServer extends Construct {
  readonly replicas: number;
  readonly service: kplus.Service;
  /** The repository's HTTP endpoint (Service port 80). */
  readonly endpoint: ServiceEndpoint;
  /** ConfigMap key of each served path. */
  readonly keysByPath: ReadonlyMap<string, string>;
  readonly probePath: string;

  constructor(scope: Construct, id: string, props: TufServerProps) {
    super(scope, id);
    this.replicas = props.replicas ?? 1;
    requireName(this, 'namespace', props.namespace);
    requireReplicas(this, 'replicas', this.replicas);
    requirePinnedImage(this, 'image', props.image);
    requireProp(this, props.files.length > 0, 'files', [], 'at least one file to serve');

    const keysByPath = new Map<string, string>();
    const paths = new Set<string>();
    let size = 0;
    for (const file of props.files) {
      const segments = file.path.split('/');
      requireProp(
        this,
        segments.every((segment) => PATH_SEGMENT.test(segment) && segment !== '.' && segment !== '..'),
        'files[].path',
        file.path,
        'a relative path of letters, digits, ".", "_" and "-" segments, without "." or ".." segments',
      );
      requireProp(this, !paths.has(file.path), 'files[].path', file.path, 'each path once');
      paths.add(file.path);
      // ConfigMap keys cannot hold "/": each becomes "__" (the volume maps the key back to the path).
      const key = file.path.replace(/\//g, '__');
      requireProp(this, key.length <= 253, 'files[].path', file.path, 'a path of at most 253 characters (a ConfigMap key limit)');
      const clash = [...keysByPath].find(([, existing]) => existing === key);
      requireProp(this, clash === undefined, 'files[].path', file.path, `a path whose ConfigMap key "${key}" differs from that of ${clash?.[0]}`);
      keysByPath.set(file.path, key);
      size += Buffer.byteLength(key) + Buffer.byteLength(file.content);
    }
    if (size > CONFIGMAP_DATA_LIMIT_BYTES) {
      throw new ChartError(
        'CHART_CONFIGMAP_TOO_LARGE',
        `${this.node.path}: the ${props.files.length} files to serve take ${size} bytes, more than the ${CONFIGMAP_DATA_LIMIT_BYTES} ` +
          'a ConfigMap can hold (1 MiB less a margin); serve fewer or smaller files (e.g. prune old TUF metadata versions)',
      );
    }
    this.keysByPath = keysByPath;
    this.probePath = props.probePath ?? (paths.has('timestamp.json') ? 'timestamp.json' : paths.has('trusted_root.json') ? 'trusted_root.json' : props.files[0].path);
    requireProp(this, paths.has(this.probePath), 'probePath', this.probePath, `one of the served paths (${[...paths].slice(0, 5).join(', ')}…)`);

    const name = SERVICE_NAMES.tuf;
    const sorted = [...props.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const configMap = new kplus.ConfigMap(this, 'ConfigMap', {
      metadata: { name: `${name}-repository` },
      data: Object.fromEntries(sorted.map((file) => [keysByPath.get(file.path)!, file.content])),
    });
    const repository = kplus.Volume.fromConfigMap(this, 'RepositoryVolume', configMap, {
      name: 'repository',
      items: Object.fromEntries(sorted.map((file) => [keysByPath.get(file.path)!, { path: file.path }])),
    });
    secureDeployment(this, 'Deployment', {
      name,
      replicas: this.replicas,
      volumes: [repository],
      containers: [
        secureContainer({
          name: 'tuf-server',
          image: props.image,
          // serve: no repository is generated, no Kubernetes API is called; <target-dir>/repository is served.
          args: ['--mode=serve', `--target-dir=${TARGET_DIRECTORY}`],
          ports: [{ number: HTTP_PORT, name: 'http' }],
          volumeMounts: [{ volume: repository, path: `${TARGET_DIRECTORY}/repository`, readOnly: true }],
          resources: { cpuMillis: { request: 10, limit: 200 }, memoryMebibytes: { request: 16, limit: 128 } },
          ...httpHealthProbes(`/${this.probePath}`, HTTP_PORT, 60),
        }),
      ],
    });
    ({ service: this.service, endpoint: this.endpoint } = httpComponentService(this, { name, httpPort: HTTP_PORT }));
  }
}
