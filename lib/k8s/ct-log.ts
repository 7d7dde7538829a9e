import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { SERVICE_NAMES } from '../config/service-urls';
import type { EncryptedKey } from '../pki/state-items';
import { NetworkWiring, type ServiceEndpoint } from './network-wiring';
import type { ServiceAddress } from './trillian';
import { ctlogPrefixProblem } from '../config/field-rules';
import { requireName, requirePinnedImage, requireProp, requireReplicas, requireRule } from './prop-validation';
import {
  NONROOT_ID,
  httpComponentService,
  httpHealthProbes,
  secureContainer,
  secureDeployment,
  signingKeySecret,
  writableDirectory,
} from './workload';

const HTTP_PORT = 6962;
const METRICS_PORT = 6963;
const TEMPLATE_DIRECTORY = '/etc/ctlog-config';
const RENDERED_DIRECTORY = '/var/run/ctlog-config';
const KEY_DIRECTORY = '/var/run/ctlog-signer';

/** Placeholders the init container replaces in the config template. */
export const CT_TEMPLATE_TREE_ID = '@TREE_ID@';
export const CT_TEMPLATE_KEY_PASSWORD = '@KEY_PASSWORD@';

export interface CtLogProps {
  readonly namespace: string;
  /** @default 1 */
  readonly replicas?: number;
  /** URL path prefix: the log lives at `/<prefix>/ct/v1/…`. */
  readonly prefix: string;
  /** Trillian log server's gRPC address. */
  readonly trillian: ServiceAddress;
  /** The CT tree id (from the tree Job's ConfigMap: the start-up gate). */
  readonly treeId: kplus.EnvValue;
  /** PEM roots the log accepts chains to: the Fulcio root. */
  readonly rootsPem: string;
  /** The log's signing key (secret) from the state. */
  readonly signingKey: EncryptedKey;
  readonly secretsScope: Construct;
  /** The ct_server image, pinned. */
  readonly image: string;
  /** An image with /bin/sh and sed for the init container, pinned. */
  readonly shellImage: string;
}

/**
 * The Certificate Transparency log (ct_server, Trillian-backed) that Fulcio submits pre-certificates
 * to. Its LogMultiConfig needs the Trillian tree id, which exists only once createtree has run in the
 * cluster: the public ConfigMap holds a template with placeholders, and an init container renders it
 * into a memory-backed emptyDir at pod start from the `treeID` gate and the key password (from the
 * Secret; the password therefore never appears in a public manifest). Accepts chains to the Fulcio
 * root, only with EKU codeSigning. Service `ctlog`, port 80.
 */
export class CtLog extends Construct {
  readonly replicas: number;
  readonly service: kplus.Service;
  /** The log's HTTP API (Service port 80), which Fulcio submits to. */
  readonly endpoint: ServiceEndpoint;
  readonly prefix: string;
  /** The config template as written into the public ConfigMap. */
  readonly configTemplate: string;

  constructor(scope: Construct, id: string, props: CtLogProps) {
    super(scope, id);
    this.replicas = props.replicas ?? 1;
    requireName(this, 'namespace', props.namespace);
    requireReplicas(this, 'replicas', this.replicas);
    requirePinnedImage(this, 'image', props.image);
    requirePinnedImage(this, 'shellImage', props.shellImage);
    requireRule(this, 'prefix', props.prefix, ctlogPrefixProblem);
    requireProp(this, /^-----BEGIN CERTIFICATE-----/.test(props.rootsPem.trim()), 'rootsPem', '<pem>', 'PEM certificates');
    // The password is substituted by sed and sits in a text-proto string: base64url only.
    requireProp(this, /^[A-Za-z0-9_-]+$/.test(props.signingKey.password), 'signingKey.password', '<secret>', 'base64url characters only');

    this.prefix = props.prefix;
    const name = SERVICE_NAMES.ctlog;
    const trillian = NetworkWiring.of(this).connect(name, props.trillian, 'Trillian log server (gRPC)');
    this.configTemplate = renderConfigTemplate({
      backend: `${trillian.host}:${trillian.port}`,
      prefix: props.prefix,
      rootsFile: `${TEMPLATE_DIRECTORY}/roots.pem`,
      keyFile: `${KEY_DIRECTORY}/private.pem`,
    });
    const configMap = new kplus.ConfigMap(this, 'ConfigMap', {
      metadata: { name: `${name}-config` },
      data: { 'ct_server.cfg.template': this.configTemplate, 'roots.pem': props.rootsPem },
    });

    const template = kplus.Volume.fromConfigMap(this, 'TemplateVolume', configMap, { name: 'config-template' });
    const rendered = writableDirectory(this, 'RenderedVolume', 'config', 1, true);
    const { volume: key, password: keyPassword } = signingKeySecret(this, {
      secretsScope: props.secretsScope,
      secretId: 'CtLogSigner',
      secretName: `${name}-signer`,
      fileName: 'private.pem',
      volumeId: 'KeyVolume',
      volumeName: 'signer',
      prop: 'signingKey',
      key: props.signingKey,
    });
    const tmp = writableDirectory(this, 'TmpVolume', 'tmp', 64);
    // Shell builtins only (case, read, printf), no sed: the password never becomes an argument of a
    // process, where `ps` would show it. A test runs this with an empty PATH.
    const substitute = (placeholder: string, variable: string) =>
      `    *${placeholder}*) line="\${line%%${placeholder}*}$${variable}\${line#*${placeholder}}" ;;`;
    const render = [
      'set -eu',
      `case "$TREE_ID" in ''|*[!0-9]*) echo "treeID '$TREE_ID' is not a decimal Trillian tree id" >&2; exit 1;; esac`,
      `case "$KEY_PASSWORD" in ''|*[!A-Za-z0-9_-]*) echo "the key password holds characters the config cannot carry" >&2; exit 1;; esac`,
      'while IFS= read -r line || [ -n "$line" ]; do',
      '  case "$line" in',
      substitute(CT_TEMPLATE_TREE_ID, 'TREE_ID'),
      substitute(CT_TEMPLATE_KEY_PASSWORD, 'KEY_PASSWORD'),
      '  esac',
      `  printf '%s\\n' "$line"`,
      `done < ${TEMPLATE_DIRECTORY}/ct_server.cfg.template > ${RENDERED_DIRECTORY}/ct_server.cfg`,
      `echo "rendered ${RENDERED_DIRECTORY}/ct_server.cfg for tree $TREE_ID"`,
    ].join('\n');

    secureDeployment(this, 'Deployment', {
      name,
      replicas: this.replicas,
      metricsPort: METRICS_PORT,
      volumes: [template, rendered, key, tmp],
      initContainers: [
        secureContainer({
          name: 'render-config',
          image: props.shellImage,
          runAs: NONROOT_ID,
          command: ['/bin/sh', '-c', render],
          envVariables: { TREE_ID: props.treeId, KEY_PASSWORD: keyPassword },
          volumeMounts: [
            { volume: template, path: TEMPLATE_DIRECTORY, readOnly: true },
            { volume: rendered, path: RENDERED_DIRECTORY },
          ],
          resources: { cpuMillis: { request: 10, limit: 100 }, memoryMebibytes: { request: 16, limit: 64 } },
        }),
      ],
      containers: [
        secureContainer({
          name: 'ct-server',
          image: props.image,
          args: [
            `--http_endpoint=0.0.0.0:${HTTP_PORT}`,
            `--metrics_endpoint=0.0.0.0:${METRICS_PORT}`,
            `--log_config=${RENDERED_DIRECTORY}/ct_server.cfg`,
            '--alsologtostderr',
          ],
          ports: [
            { number: HTTP_PORT, name: 'http' },
            { number: METRICS_PORT, name: 'metrics' },
          ],
          volumeMounts: [
            { volume: template, path: TEMPLATE_DIRECTORY, readOnly: true },
            { volume: rendered, path: RENDERED_DIRECTORY, readOnly: true },
            { volume: key, path: KEY_DIRECTORY, readOnly: true },
            { volume: tmp, path: '/tmp' },
          ],
          resources: { cpuMillis: { request: 100, limit: 1000 }, memoryMebibytes: { request: 128, limit: 512 } },
          ...httpHealthProbes('/healthz', HTTP_PORT),
        }),
      ],
    });
    ({ service: this.service, endpoint: this.endpoint } = httpComponentService(this, { name, httpPort: HTTP_PORT, metricsPort: METRICS_PORT }));
  }
}

/** ct_server's LogMultiConfig (text proto), with the tree id and key password as placeholders. */
export function renderConfigTemplate(options: { backend: string; prefix: string; rootsFile: string; keyFile: string }): string {
  return [
    'backends {',
    '  backend {',
    '    name: "trillian"',
    `    backend_spec: "${options.backend}"`,
    '  }',
    '}',
    'log_configs {',
    '  config {',
    `    log_id: ${CT_TEMPLATE_TREE_ID}`,
    `    prefix: "${options.prefix}"`,
    `    roots_pem_file: "${options.rootsFile}"`,
    '    private_key {',
    '      [type.googleapis.com/keyspb.PEMKeyFile] {',
    `        path: "${options.keyFile}"`,
    `        password: "${CT_TEMPLATE_KEY_PASSWORD}"`,
    '      }',
    '    }',
    '    ext_key_usages: "CodeSigning"',
    '    log_backend_name: "trillian"',
    '  }',
    '}',
    '',
  ].join('\n');
}
