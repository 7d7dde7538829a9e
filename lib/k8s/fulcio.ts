import { kplus } from './kplus';
import { Construct } from 'constructs';
import { SERVICE_NAMES } from '../config/service-urls';
import type { EncryptedKey } from '../pki/state-items';
import { NetworkWiring, type ServiceEndpoint } from './network-wiring';
import { fulcioConfigJson, type FulcioOidcExtras, type TrustedIssuer } from './fulcio-config';
import { SECRET_ENVIRONMENT } from './server-inputs';
import { requireName, requirePinnedImage, requireProp, requireReplicas } from './prop-validation';
import {
  METRICS_PORT_NAME,
  componentService,
  httpHealthProbes,
  secureContainer,
  secureDeployment,
  signingKeySecret,
  writableDirectory,
} from './workload';

const HTTP_PORT = 5555;
const GRPC_PORT = 5554;
/** `--metrics-port` default (sigstore/fulcio v1.8.8 cmd/app/serve.go). */
const METRICS_PORT = 2112;
const CONFIG_DIRECTORY = '/etc/fulcio-config';
const KEY_DIRECTORY = '/var/run/fulcio-ca';

export interface FulcioProps {
  readonly namespace: string;
  /** @default 1 */
  readonly replicas?: number;
  /** The CA chain, issuing (intermediate) certificate first, root last, as PEM. */
  readonly caChainPem: string;
  /** The issuing certificate's key (secret). */
  readonly caKey: EncryptedKey;
  /** The issuers Fulcio trusts (the union over tenants). */
  readonly issuers: readonly TrustedIssuer[];
  /** Meta-issuers and the CI providers' templates (CIIssuerMetadata). @default - none */
  readonly oidcExtras?: FulcioOidcExtras;
  /** The in-cluster CT log Fulcio submits pre-certificates to: its endpoint and URL path prefix. */
  readonly ctLog: { readonly endpoint: ServiceEndpoint; readonly prefix: string };
  /** Address blocks of the OIDC issuers (Fulcio fetches their discovery documents and keys). @default ["0.0.0.0/0"] */
  readonly issuerCidrs?: readonly string[];
  readonly secretsScope: Construct;
  readonly image: string;
}

/**
 * Fulcio with the `fileca` backend: the intermediate certificate and key minted offline sign leaf
 * certificates; pre-certificates go to the in-cluster CT log. The OIDC config is built from the typed
 * issuers of the environment file. Service `fulcio`: HTTP on port 80, gRPC on 5554.
 */
export class Fulcio extends Construct {
  readonly replicas: number;
  readonly service: kplus.Service;
  /** The config file (`config.json`) as written into the ConfigMap. */
  readonly configJson: string;

  constructor(scope: Construct, id: string, props: FulcioProps) {
    super(scope, id);
    this.replicas = props.replicas ?? 1;
    requireName(this, 'namespace', props.namespace);
    requireReplicas(this, 'replicas', this.replicas);
    requirePinnedImage(this, 'image', props.image);
    requireProp(this, (props.caChainPem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length >= 2, 'caChainPem', '<pem>', 'the issuing certificate and its root, as PEM');
    requireProp(this, /^[a-z0-9][a-z0-9-]*$/.test(props.ctLog.prefix), 'ctLog.prefix', props.ctLog.prefix, 'lowercase letters, digits and "-"');

    const name = SERVICE_NAMES.fulcio;
    const wiring = NetworkWiring.of(this);
    // In-cluster, whatever the public hostname: Fulcio talks to the CT log directly.
    const ctLog = wiring.connect(name, props.ctLog.endpoint, 'CT log (pre-certificates)');
    const ctLogUrl = `http://${ctLog.host}${ctLog.port === 80 ? '' : `:${ctLog.port}`}/${props.ctLog.prefix}`;
    // Fulcio fetches each issuer's OpenID configuration and keys (HTTPS).
    for (const issuer of props.issuers) {
      const url = new URL(issuer.issuer.url);
      wiring.connectExternal(name, {
        description: `OIDC issuer ${url.hostname}`,
        hostname: url.hostname,
        cidrs: props.issuerCidrs ?? ['0.0.0.0/0'],
        port: url.port === '' ? 443 : Number(url.port),
        protocol: 'TCP',
      });
    }
    // Meta-issuers are reached on their URL's port too; their hosts are wildcards, the policy names blocks anyway.
    for (const issuer of props.oidcExtras?.metaIssuers ?? []) {
      const url = new URL(issuer.url.replace(/\*/g, 'x'));
      wiring.connectExternal(name, {
        description: `OIDC meta-issuer ${issuer.url}`,
        hostname: url.hostname,
        cidrs: props.issuerCidrs ?? ['0.0.0.0/0'],
        port: url.port === '' ? 443 : Number(url.port),
        protocol: 'TCP',
      });
    }
    this.configJson = fulcioConfigJson(props.issuers, props.oidcExtras);
    const configMap = new kplus.ConfigMap(this, 'ConfigMap', {
      metadata: { name: `${name}-config` },
      data: { 'config.json': this.configJson, 'ca-chain.pem': props.caChainPem },
    });
    const config = kplus.Volume.fromConfigMap(this, 'ConfigVolume', configMap, { name: 'config' });
    const { volume: key, password } = signingKeySecret(this, {
      secretsScope: props.secretsScope,
      secretId: 'FulcioCaKey',
      secretName: `${name}-ca-key`,
      fileName: 'key.pem',
      volumeId: 'KeyVolume',
      volumeName: 'ca-key',
      prop: 'caKey',
      key: props.caKey,
    });
    const tmp = writableDirectory(this, 'TmpVolume', 'tmp', 64);
    secureDeployment(this, 'Deployment', {
      name,
      replicas: this.replicas,
      metricsPort: METRICS_PORT,
      volumes: [config, key, tmp],
      containers: [
        secureContainer({
          name: 'fulcio',
          image: props.image,
          args: [
            'serve',
            `--port=${HTTP_PORT}`,
            `--grpc-port=${GRPC_PORT}`,
            '--ca=fileca',
            `--fileca-cert=${CONFIG_DIRECTORY}/ca-chain.pem`,
            `--fileca-key=${KEY_DIRECTORY}/key.pem`,
            `--ct-log-url=${ctLogUrl}`,
            `--config-path=${CONFIG_DIRECTORY}/config.json`,
            '--log_type=prod',
          ],
          ports: [
            { number: HTTP_PORT, name: 'http' },
            { number: GRPC_PORT, name: 'grpc' },
            { number: METRICS_PORT, name: 'metrics' },
          ],
          // The key's password through viper's environment, never on the command line (server-inputs.ts).
          envVariables: { [SECRET_ENVIRONMENT.fulcioCaKeyPassword]: password },
          volumeMounts: [
            { volume: config, path: CONFIG_DIRECTORY, readOnly: true },
            { volume: key, path: KEY_DIRECTORY, readOnly: true },
            { volume: tmp, path: '/tmp' },
          ],
          resources: { cpuMillis: { request: 100, limit: 1000 }, memoryMebibytes: { request: 128, limit: 512 } },
          ...httpHealthProbes('/healthz', HTTP_PORT),
        }),
      ],
    });
    this.service = componentService(this, 'Service', {
      name,
      component: name,
      ports: [
        { port: 80, targetPort: HTTP_PORT, name: 'http' },
        { port: GRPC_PORT, targetPort: GRPC_PORT, name: 'grpc' },
        { port: METRICS_PORT, targetPort: METRICS_PORT, name: METRICS_PORT_NAME },
      ],
    });
  }
}
