import { kplus } from './kplus';
import { Construct } from 'constructs';
import { SERVICE_NAMES } from '../config/service-urls';
import type { EncryptedKey } from '../pki/state-items';
import { duplicateIndexes, ntpServerProblem } from '../config/field-rules';
import { SECRET_ENVIRONMENT } from './server-inputs';
import { NetworkWiring, type ServiceEndpoint } from './network-wiring';
import { requireName, requirePinnedImage, requireProp, requireReplicas, requireRule } from './prop-validation';
import {
  httpComponentService,
  httpHealthProbes,
  secureContainer,
  secureDeployment,
  signingKeySecret,
  writableDirectory,
} from './workload';

const HTTP_PORT = 5555;
/** timestamp-server v2.1.0 serves Prometheus metrics on :2112 (pkg/server/prometheus.go). */
const METRICS_PORT = 2112;
const NTP_PORT = 123;
const CONFIG_DIRECTORY = '/etc/tsa-config';
const KEY_DIRECTORY = '/var/run/tsa-signer';

/**
 * How the TSA watches its clock. It refuses to issue timestamps when too few NTP servers agree with
 * local time. Air-gapped clusters cannot reach the public servers of the built-in list.
 */
export type NtpMonitoring =
  /** `--disable-ntp-monitoring`. */
  | { readonly kind: 'disabled' }
  /** The TSA's built-in list of public NTP servers. */
  | { readonly kind: 'public-servers' }
  /** These servers (e.g. the cluster's own), a majority of which must agree. */
  | { readonly kind: 'servers'; readonly servers: readonly string[] };

export interface TimestampAuthorityProps {
  readonly namespace: string;
  /** @default 1 */
  readonly replicas?: number;
  /** The chain, leaf first, then intermediate, then root, as PEM. */
  readonly chainPem: string;
  /** The leaf's key (secret). */
  readonly signingKey: EncryptedKey;
  /** @default - disabled */
  readonly ntpMonitoring?: NtpMonitoring;
  readonly secretsScope: Construct;
  readonly image: string;
  /** Address blocks of the NTP servers (with NTP monitoring on). @default ["0.0.0.0/0"] */
  readonly ntpCidrs?: readonly string[];
}

/**
 * The RFC 3161 Timestamp Authority (timestamp-server) with the file signer: the leaf key minted offline
 * signs, the chain file is leaf first. It listens on 0.0.0.0 (go-swagger's default is localhost).
 * Service `tsa`, port 80; clients post to `/api/v1/timestamp`.
 */
export class TimestampAuthority extends Construct {
  readonly replicas: number;
  readonly service: kplus.Service;
  /** The timestamping API (Service port 80). */
  readonly endpoint: ServiceEndpoint;
  readonly ntpMonitoring: NtpMonitoring;

  constructor(scope: Construct, id: string, props: TimestampAuthorityProps) {
    super(scope, id);
    this.replicas = props.replicas ?? 1;
    this.ntpMonitoring = props.ntpMonitoring ?? { kind: 'disabled' };
    requireName(this, 'namespace', props.namespace);
    requireReplicas(this, 'replicas', this.replicas);
    requirePinnedImage(this, 'image', props.image);
    requireProp(this, (props.chainPem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length >= 2, 'chainPem', '<pem>', 'the leaf and its issuers, as PEM');
    if (this.ntpMonitoring.kind === 'servers') {
      const servers = this.ntpMonitoring.servers;
      requireProp(this, servers.length > 0, 'ntpMonitoring.servers', servers, 'one or more NTP servers');
      for (const server of servers) requireRule(this, 'ntpMonitoring.servers[]', server, ntpServerProblem);
      for (const { index } of duplicateIndexes(servers)) requireProp(this, false, 'ntpMonitoring.servers[]', servers[index], 'each server once');
    }

    const name = SERVICE_NAMES.tsa;
    const configData: Record<string, string> = { 'chain.pem': props.chainPem };
    const ntpArgs: string[] = [];
    switch (this.ntpMonitoring.kind) {
      case 'disabled':
        ntpArgs.push('--disable-ntp-monitoring');
        break;
      case 'servers':
        configData['ntp-monitoring.yaml'] = ntpMonitoringYaml(this.ntpMonitoring.servers);
        ntpArgs.push(`--ntp-monitoring=${CONFIG_DIRECTORY}/ntp-monitoring.yaml`);
        break;
      case 'public-servers':
        break;
    }
    if (this.ntpMonitoring.kind !== 'disabled') {
      // NTP (UDP 123) to the configured servers, or to the TSA's built-in public list.
      const servers = this.ntpMonitoring.kind === 'servers' ? this.ntpMonitoring.servers : ['the built-in public NTP servers'];
      NetworkWiring.of(this).connectExternal(name, {
        description: `NTP ${servers.join(', ')}`,
        hostname: servers[0],
        cidrs: props.ntpCidrs ?? ['0.0.0.0/0'],
        port: NTP_PORT,
        protocol: 'UDP',
      });
    }
    const configMap = new kplus.ConfigMap(this, 'ConfigMap', { metadata: { name: `${name}-config` }, data: configData });
    const config = kplus.Volume.fromConfigMap(this, 'ConfigVolume', configMap, { name: 'config' });
    const { volume: key, password } = signingKeySecret(this, {
      secretsScope: props.secretsScope,
      secretId: 'TsaSigner',
      secretName: `${name}-signer`,
      fileName: 'key.pem',
      volumeId: 'KeyVolume',
      volumeName: 'signer',
      prop: 'signingKey',
      key: props.signingKey,
    });
    const tmp = writableDirectory(this, 'TmpVolume', 'tmp', 64);
    secureDeployment(this, 'Deployment', {
      name,
      replicas: this.replicas,
      metricsPort: METRICS_PORT,
      volumes: [config, key, tmp],
      containers: [
        secureContainer({
          name: 'timestamp-server',
          image: props.image,
          args: [
            'serve',
            '--host=0.0.0.0',
            `--port=${HTTP_PORT}`,
            '--timestamp-signer=file',
            `--file-signer-key-path=${KEY_DIRECTORY}/key.pem`,
            `--certificate-chain-path=${CONFIG_DIRECTORY}/chain.pem`,
            ...ntpArgs,
            '--log-type=prod',
          ],
          ports: [
            { number: HTTP_PORT, name: 'http' },
            { number: METRICS_PORT, name: 'metrics' },
          ],
          // The key's password through viper's environment, never on the command line (server-inputs.ts).
          envVariables: { [SECRET_ENVIRONMENT.tsaSignerPassword]: password },
          volumeMounts: [
            { volume: config, path: CONFIG_DIRECTORY, readOnly: true },
            { volume: key, path: KEY_DIRECTORY, readOnly: true },
            { volume: tmp, path: '/tmp' },
          ],
          resources: { cpuMillis: { request: 100, limit: 1000 }, memoryMebibytes: { request: 64, limit: 256 } },
          ...httpHealthProbes('/ping', HTTP_PORT),
        }),
      ],
    });
    ({ service: this.service, endpoint: this.endpoint } = httpComponentService(this, { name, httpPort: HTTP_PORT, metricsPort: METRICS_PORT }));
  }
}

/**
 * The TSA's NTP monitoring file (sigstore/timestamp-authority pkg/ntpmonitor): every server is asked,
 * a majority must agree within 6 seconds; request timeout below that, as the TSA requires.
 */
export function ntpMonitoringYaml(servers: readonly string[]): string {
  return [
    'request_attempts: 3',
    'request_timeout: 5',
    `num_servers: ${servers.length}`,
    `server_threshold: ${Math.floor(servers.length / 2) + 1}`,
    'max_time_delta: 6',
    'period: 60',
    'servers:',
    ...servers.map((server) => `  - "${server}"`),
    '',
  ].join('\n');
}
