import { isIPv4 } from 'node:net';
import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { IMAGES, imageReference, type PinnedImage } from '../config/images';
import type { SigstoreConfig } from '../config/schema';
import { SERVICE_NAMES, type PublicService } from '../config/service-urls';
import type { PkiMaterial } from '../pki/state-items';
import { TRUST_DIRECTORY, trustOutputFiles, type OutputFile } from '../trust/trust-outputs';
import { CtLog } from './ct-log';
import { Fulcio } from './fulcio';
import { trustedIssuers } from './fulcio-config';
import { MySql, type ExternalDatabaseProps, type InClusterDatabaseProps } from './mysql';
import { NetworkWiring, serviceEndpoint } from './network-wiring';
import { Prober, ServiceMonitor } from './observability';
import { MySqlBackup } from './mysql-backup';
import { obsEndpoint } from '../otc/endpoints';
import { PodPlacement } from './pod-placement';
import { PublicIngress } from './public-ingress';
import { Rekor } from './rekor';
import type { RekorTiles } from './rekor-tiles';
import type { TesseraCt } from './tesseract';
import type { ServicePasswords } from './service-passwords';
import { TimestampAuthority, type NtpMonitoring } from './timestamp-authority';
import { TreeJob } from './tree-job';
import { Trillian } from './trillian';
import { TrustRoots } from './trust-roots';
import { TufServer } from './tuf-server';
import { TileLogs } from './tile-logs';
import { METRICS_PORT_NAME, PART_OF_LABELS } from './workload';

/** Everything the cluster charts are built from. */
export interface SigstoreChartInput {
  readonly config: SigstoreConfig;
  /** The verified trust material (public certificates and keys, encrypted private keys). */
  readonly material: PkiMaterial;
  /** MySQL and Redis passwords from the state. */
  readonly passwords: ServicePasswords;
  /**
   * Files the TUF server serves, paths relative to the repository root.
   * @default - the trust outputs (trusted_root.json, the chains and the log keys)
   */
  readonly tufFiles?: readonly OutputFile[];
}

/**
 * The Secrets of the stack (keys, passwords), in a chart of their own so that the public manifests can
 * be reviewed, diffed and committed without key material. Written with mode 0600.
 */
export class SigstoreSecretsChart extends Chart {
  constructor(scope: Construct, id: string, props: { namespace: string }) {
    super(scope, id, { namespace: props.namespace, disableResourceNameHashes: true, labels: { ...PART_OF_LABELS } });
  }
}

/**
 * The public manifests of the whole stack, wired from the configuration and the trust material:
 * the namespace (Pod Security "restricted"), MySQL, Trillian, the two tree Jobs, Rekor with Redis,
 * the CT log, Fulcio, the TSA, the TUF server, the trust-roots ConfigMaps and the Ingresses. Key
 * material goes to `secrets`, never here.
 */
export class SigstoreChart extends Chart {
  /** Absent when no log runs on Trillian (`logs.rekor: v2` and `logs.ct: tesseract`). */
  readonly trillian?: Trillian;
  /** Absent with Rekor v2. */
  readonly rekorTree?: TreeJob;
  /** Absent with TesseraCT. */
  readonly ctlogTree?: TreeJob;
  /** Rekor v1 (with Redis), or Rekor v2 (rekor-tiles) with `logs.rekor: v2`. */
  readonly rekor: Rekor | RekorTiles;
  /** ct_server, or TesseraCT with `logs.ct: tesseract`. */
  readonly ctlog: CtLog | TesseraCt;
  readonly fulcio: Fulcio;
  readonly tsa: TimestampAuthority;
  readonly tuf: TufServer;
  /** Every flow between the components, and to the peers outside the namespace. */
  readonly wiring: NetworkWiring;

  constructor(scope: Construct, id: string, props: SigstoreChartInput & { secrets: SigstoreSecretsChart }) {
    const { config, material, passwords } = props;
    const namespace = config.cluster.namespace;
    super(scope, id, { namespace, disableResourceNameHashes: true, labels: { ...PART_OF_LABELS } });
    const image = (pinned: PinnedImage) => imageReference(pinned, config.images.mirror);
    const secretsScope = props.secrets;

    const namespaceObject = new kplus.Namespace(this, 'Namespace', {
      metadata: {
        name: namespace,
        labels: {
          // Every pod of the chart meets the "restricted" standard; enforce it for anything else too.
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
        },
      },
    });
    // A cluster-scoped object: the chart's default namespace does not apply to it.
    ApiObject.of(namespaceObject).addJsonPatch(JsonPatch.remove('/metadata/namespace'));

    // Created before every component, so that its policies follow the Namespace in the manifest.
    const network = config.networkPolicy;
    this.wiring = new NetworkWiring(this, {
      dns: network.dns,
      apiServer: network.apiServer,
      ingressController: network.ingressController,
      metricsScraper: network.metricsScraper === false ? undefined : network.metricsScraper,
      publicServiceClients: network.publicServiceClients,
    });
    new PodPlacement(this, config.scheduling);

    const database: InClusterDatabaseProps | ExternalDatabaseProps =
      config.database.kind === 'in-cluster'
        ? {
            kind: 'in-cluster',
            storageSize: config.database.storageSize,
            storageClassName: config.database.storageClassName,
            rootPassword: passwords.mysqlRootPassword,
            password: passwords.mysqlPassword,
            image: image(IMAGES.mysql),
          }
        : {
            kind: 'external',
            host: config.database.host,
            port: config.database.port,
            database: config.database.name,
            credentialsSecretName: config.database.credentialsSecret,
            tlsCaSecretName: config.database.tlsCaSecret,
            cidrs: isIPv4(config.database.host) ? undefined : network.externalCidrs,
          };
    // Trillian and its MySQL only for the logs that run on it (logs-schema.ts); the tile-based ones
    // are built by TileLogs.
    const tileLogs = new TileLogs(this, 'TileLogs', { config, material, secretsScope, image });
    const trillianNeeded = tileLogs.rekor === undefined || tileLogs.ctlog === undefined;
    const mysql = trillianNeeded ? new MySql(this, 'MySql', { database, namespace, secretsScope, createdbImage: image(IMAGES.createdb) }) : undefined;
    const mysqlBackup = config.backup.mysql;
    // The dump is of Trillian's database: there is none when both logs are tile-based.
    if (mysql && mysqlBackup.enabled && config.otc) {
      new MySqlBackup(this, 'MySqlBackup', {
        connection: mysql.connection,
        schedule: mysqlBackup.schedule,
        bucket: (mysqlBackup.bucket ?? (config.state.backend === 'obs' ? config.state.bucket : undefined) ?? config.cloud?.bootstrapBucket.name)!,
        prefix: mysqlBackup.prefix ?? `mysql-backup/${config.env}`,
        region: config.otc.region,
        endpoint: config.otc.endpoints.obs ?? obsEndpoint(config.otc.region),
        retentionDays: mysqlBackup.retentionDays,
        credentialsSecretName: mysqlBackup.credentialsSecret,
        obsCidrs: network.externalCidrs,
        mysqlImage: image(IMAGES.mysql),
        curlImage: image(IMAGES.curl),
      });
    }

    const trillian = (this.trillian = mysql && new Trillian(this, 'Trillian', {
      namespace,
      database: mysql.connection,
      logServerReplicas: config.services.trillian.logServerReplicas,
      logSignerReplicas: config.services.trillian.logSignerReplicas,
      electionTrees: config.services.trillian.treeIds && [
        { treeId: config.services.trillian.treeIds.rekor, configMapName: TreeJob.configMapName(SERVICE_NAMES.rekor) },
        { treeId: config.services.trillian.treeIds.ctlog, configMapName: TreeJob.configMapName(SERVICE_NAMES.ctlog) },
      ],
      shellImage: image(IMAGES.curl),
      logServerImage: image(IMAGES.trillianLogServer),
      logSignerImage: image(IMAGES.trillianLogSigner),
    }));
    const treeJob = (id: string, name: string, displayName: string) =>
      new TreeJob(this, id, { name, namespace, adminServer: trillian!.logServerAddress, displayName, image: image(IMAGES.createtree) });
    this.rekorTree = tileLogs.rekor ? undefined : treeJob('RekorTree', SERVICE_NAMES.rekor, 'rekor');
    this.ctlogTree = tileLogs.ctlog ? undefined : treeJob('CtLogTree', SERVICE_NAMES.ctlog, 'ctlog');

    this.rekor = tileLogs.rekor ?? new Rekor(this, 'Rekor', {
      namespace,
      replicas: config.services.rekor.replicas,
      hostname: config.services.rekor.hostname ?? `${SERVICE_NAMES.rekor}.${namespace}.svc`,
      trillian: trillian!.logServerAddress,
      treeId: this.rekorTree!.treeId,
      signingKey: material.rekor.privateKey,
      secretsScope,
      image: image(IMAGES.rekor),
      redisImage: image(IMAGES.redis),
      redisPassword: passwords.redisPassword,
      redisPersistence: config.backup.redis,
    });

    const pem = (certificates: { toString(format: 'pem'): string }[]) => certificates.map((certificate) => `${certificate.toString('pem')}\n`).join('');
    this.ctlog = tileLogs.ctlog ?? new CtLog(this, 'CtLog', {
      namespace,
      replicas: config.services.ctlog.replicas,
      prefix: config.services.ctlog.prefix,
      trillian: trillian!.logServerAddress,
      treeId: this.ctlogTree!.treeId,
      rootsPem: pem([material.fulcio.root]),
      signingKey: material.ctlog.privateKey,
      secretsScope,
      image: image(IMAGES.ctServer),
      shellImage: image(IMAGES.curl),
    });

    this.fulcio = new Fulcio(this, 'Fulcio', {
      namespace,
      replicas: config.services.fulcio.replicas,
      caChainPem: pem([material.fulcio.intermediate, material.fulcio.root]),
      caKey: material.fulcio.intermediateKey,
      issuers: trustedIssuers(config.oidc),
      ctLog: { endpoint: this.ctlog.endpoint, prefix: this.ctlog.prefix },
      issuerCidrs: network.externalCidrs,
      secretsScope,
      image: image(IMAGES.fulcio),
    });

    const tsaConfig = config.services.tsa;
    const ntpMonitoring: NtpMonitoring = !tsaConfig.ntpMonitoring
      ? { kind: 'disabled' }
      : tsaConfig.ntpServers
        ? { kind: 'servers', servers: tsaConfig.ntpServers }
        : { kind: 'public-servers' };
    this.tsa = new TimestampAuthority(this, 'TimestampAuthority', {
      namespace,
      replicas: tsaConfig.replicas,
      chainPem: pem([material.tsa.leaf, material.tsa.intermediate, material.tsa.root]),
      signingKey: material.tsa.leafKey,
      ntpMonitoring,
      ntpCidrs: network.externalCidrs,
      secretsScope,
      image: image(IMAGES.timestampServer),
    });

    const trustFiles = trustOutputFiles(material, config);
    const trustFile = (name: string) => trustFiles.find((file) => file.path === `${TRUST_DIRECTORY}/${name}`)!.content;
    this.tuf = new TufServer(this, 'TufServer', {
      namespace,
      replicas: config.services.tuf.replicas,
      files: props.tufFiles ?? trustFiles.map((file) => ({ path: file.path.slice(TRUST_DIRECTORY.length + 1), content: file.content })),
      image: image(IMAGES.tufServer),
    });

    new TrustRoots(this, 'TrustRoots', {
      namespaces: config.cluster.trustRootNamespaces,
      fulcioRootPem: pem([material.fulcio.root]),
      tsaRootPem: pem([material.tsa.root]),
      fulcioChainPem: trustFile('fulcio-chain.pem'),
      tsaChainPem: trustFile('tsa-chain.pem'),
      trustedRootJson: trustFile('trusted_root.json'),
    });

    const services: Record<PublicService, kplus.Service> = {
      fulcio: this.fulcio.service,
      rekor: this.rekor.service,
      ctlog: this.ctlog.service,
      tsa: this.tsa.service,
      tuf: this.tuf.service,
    };
    for (const [service, kubeService] of Object.entries(services) as [PublicService, kplus.Service][]) {
      // The configured in-cluster clients reach every port of a public Service but its metrics.
      for (const port of kubeService.ports) {
        if (port.name && port.name !== METRICS_PORT_NAME) this.wiring.exposeToPublicClients(serviceEndpoint(kubeService, port.name));
      }
      const hostname = config.services[service].hostname;
      if (!hostname) continue;
      new PublicIngress(this, `Ingress-${service}`, {
        name: SERVICE_NAMES[service],
        hostname,
        service: kubeService,
        ingressClassName: config.cluster.ingressClassName,
        tlsSecretName: config.cluster.ingressTlsSecret,
      });
    }

    const { serviceMonitor, prober } = config.observability;
    if (serviceMonitor.enabled) new ServiceMonitor(this, 'ServiceMonitor', { interval: serviceMonitor.interval, labels: serviceMonitor.labels });
    if (prober.enabled) {
      new Prober(this, 'Prober', {
        schedule: prober.schedule,
        fulcio: serviceEndpoint(this.fulcio.service, 'http'),
        tsa: this.tsa.endpoint,
        rekor: this.rekor.endpoint,
        rekorV2Origin: tileLogs.rekor?.origin,
        image: image(IMAGES.curl),
      });
    }

    if (network.enabled) this.wiring.renderPolicies();
  }
}
