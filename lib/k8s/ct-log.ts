import { kplus } from './kplus';
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
  /**
   * The retired shards (`rotate ctlog-key`), oldest first: each served read-only (`is_readonly`) under
   * its own prefix with its old key and pinned tree. @default - none (one log)
   */
  readonly inactiveShards?: readonly CtLogShard[];
  /**
   * Serve reads only: the active log config is `is_readonly` too, like a retired shard's (a ct_server
   * that a migration to TesseraCT retired at its cut-over; its tree is frozen too). @default false
   */
  readonly readOnly?: boolean;
}

/** A retired CT log shard: its Trillian tree (pinned), URL prefix and signing key (secret). */
export interface CtLogShard {
  readonly generation: number;
  readonly treeId: string;
  readonly prefix: string;
  readonly signingKey: EncryptedKey;
}

const SHARDS_DIRECTORY = '/var/run/ctlog-shards';

/** The config placeholder of a retired shard's key password. */
export function shardPasswordPlaceholder(generation: number): string {
  return `@KEY_PASSWORD_G${generation}@`;
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
    const shards = props.inactiveShards ?? [];
    for (const shard of shards) {
      requireRule(this, `inactiveShards[g${shard.generation}].prefix`, shard.prefix, ctlogPrefixProblem);
      requireProp(this, /^[1-9][0-9]{0,18}$/.test(shard.treeId), `inactiveShards[g${shard.generation}].treeId`, shard.treeId, 'a decimal Trillian tree id');
      requireProp(this, /^[A-Za-z0-9_-]+$/.test(shard.signingKey.password), `inactiveShards[g${shard.generation}].signingKey.password`, '<secret>', 'base64url characters only');
    }
    this.configTemplate = renderConfigTemplate({
      backend: `${trillian.host}:${trillian.port}`,
      prefix: props.prefix,
      rootsFile: `${TEMPLATE_DIRECTORY}/roots.pem`,
      keyFile: `${KEY_DIRECTORY}/private.pem`,
      readOnly: props.readOnly,
      readOnlyShards: shards.map((shard) => ({
        treeId: shard.treeId,
        prefix: shard.prefix,
        keyFile: `${SHARDS_DIRECTORY}/shard-g${shard.generation}.pem`,
        passwordPlaceholder: shardPasswordPlaceholder(shard.generation),
      })),
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
    const shardSecret =
      shards.length === 0
        ? undefined
        : new kplus.Secret(props.secretsScope, 'CtLogShards', {
            metadata: { name: `${name}-shards` },
            stringData: Object.fromEntries(
              shards.flatMap((shard) => [
                [`shard-g${shard.generation}.pem`, shard.signingKey.pem],
                [`shard-g${shard.generation}.password`, shard.signingKey.password],
              ]),
            ),
          });
    // Only the key files are mounted; the passwords reach the init container as environment values.
    const shardVolume = shardSecret
      ? kplus.Volume.fromSecret(this, 'ShardsVolume', shardSecret, {
          name: 'shards',
          items: Object.fromEntries(shards.map((shard) => [`shard-g${shard.generation}.pem`, { path: `shard-g${shard.generation}.pem` }])),
        })
      : undefined;
    const shardPasswords = Object.fromEntries(
      shards.map((shard) => [`SHARD_G${shard.generation}_PASSWORD`, kplus.EnvValue.fromSecretValue({ secret: shardSecret!, key: `shard-g${shard.generation}.password` })]),
    );
    // Shell builtins only (case, read, printf), no sed: the password never becomes an argument of a
    // process, where `ps` would show it. A test runs this with an empty PATH.
    const substitute = (placeholder: string, variable: string) =>
      `    *${placeholder}*) line="\${line%%${placeholder}*}$${variable}\${line#*${placeholder}}" ;;`;
    const render = [
      'set -eu',
      `case "$TREE_ID" in ''|*[!0-9]*) echo "treeID '$TREE_ID' is not a decimal Trillian tree id" >&2; exit 1;; esac`,
      ...['KEY_PASSWORD', ...Object.keys(shardPasswords)].map(
        (variable) => `case "$${variable}" in ''|*[!A-Za-z0-9_-]*) echo "the key password holds characters the config cannot carry" >&2; exit 1;; esac`,
      ),
      'while IFS= read -r line || [ -n "$line" ]; do',
      '  case "$line" in',
      substitute(CT_TEMPLATE_TREE_ID, 'TREE_ID'),
      substitute(CT_TEMPLATE_KEY_PASSWORD, 'KEY_PASSWORD'),
      ...shards.map((shard) => substitute(shardPasswordPlaceholder(shard.generation), `SHARD_G${shard.generation}_PASSWORD`)),
      '  esac',
      `  printf '%s\\n' "$line"`,
      `done < ${TEMPLATE_DIRECTORY}/ct_server.cfg.template > ${RENDERED_DIRECTORY}/ct_server.cfg`,
      `echo "rendered ${RENDERED_DIRECTORY}/ct_server.cfg for tree $TREE_ID"`,
    ].join('\n');

    secureDeployment(this, 'Deployment', {
      name,
      replicas: this.replicas,
      metricsPort: METRICS_PORT,
      volumes: [template, rendered, key, tmp, ...(shardVolume ? [shardVolume] : [])],
      initContainers: [
        secureContainer({
          name: 'render-config',
          image: props.shellImage,
          runAs: NONROOT_ID,
          command: ['/bin/sh', '-c', render],
          envVariables: { TREE_ID: props.treeId, KEY_PASSWORD: keyPassword, ...shardPasswords },
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
            ...(shardVolume ? [{ volume: shardVolume, path: SHARDS_DIRECTORY, readOnly: true }] : []),
          ],
          resources: { cpuMillis: { request: 100, limit: 1000 }, memoryMebibytes: { request: 128, limit: 512 } },
          ...httpHealthProbes('/healthz', HTTP_PORT),
        }),
      ],
    });
    ({ service: this.service, endpoint: this.endpoint } = httpComponentService(this, { name, httpPort: HTTP_PORT, metricsPort: METRICS_PORT }));
  }
}

/**
 * ct_server's LogMultiConfig (text proto), with the tree id and key passwords as placeholders: the
 * active log, then each retired shard under its own prefix, read-only (`is_readonly`: serves the read
 * endpoints, rejects add-[pre-]chain; LogConfig of google/certificate-transparency-go v1.3.2,
 * trillian/ctfe/configpb/config.proto, the version scaffolding v0.7.31's ct_server is built with).
 */
export function renderConfigTemplate(options: {
  backend: string;
  prefix: string;
  rootsFile: string;
  keyFile: string;
  readOnlyShards?: readonly { treeId: string; prefix: string; keyFile: string; passwordPlaceholder: string }[];
  /** The active log config is read-only too. @default false */
  readOnly?: boolean;
}): string {
  const logConfig = (logId: string, prefix: string, keyFile: string, password: string, readOnly: boolean) => [
    '  config {',
    `    log_id: ${logId}`,
    `    prefix: "${prefix}"`,
    `    roots_pem_file: "${options.rootsFile}"`,
    '    private_key {',
    '      [type.googleapis.com/keyspb.PEMKeyFile] {',
    `        path: "${keyFile}"`,
    `        password: "${password}"`,
    '      }',
    '    }',
    '    ext_key_usages: "CodeSigning"',
    '    log_backend_name: "trillian"',
    ...(readOnly ? ['    is_readonly: true'] : []),
    '  }',
  ];
  return [
    'backends {',
    '  backend {',
    '    name: "trillian"',
    `    backend_spec: "${options.backend}"`,
    '  }',
    '}',
    'log_configs {',
    ...logConfig(CT_TEMPLATE_TREE_ID, options.prefix, options.keyFile, CT_TEMPLATE_KEY_PASSWORD, options.readOnly ?? false),
    ...(options.readOnlyShards ?? []).flatMap((shard) => logConfig(shard.treeId, shard.prefix, shard.keyFile, shard.passwordPlaceholder, true)),
    '}',
    '',
  ].join('\n');
}
