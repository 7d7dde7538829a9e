import { isIPv4 } from 'node:net';
import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import { kplus } from './kplus';
import type { Construct } from 'constructs';
import { IMAGES, imageReference, type PinnedImage } from '../config/images';
import type { SigstoreConfig } from '../config/schema';
import { ConfigError } from '../errors';
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
import { TreeFreezeJob } from './tree-freeze-job';
import { TreeJob } from './tree-job';
import { Trillian } from './trillian';
import { TrustRoots } from './trust-roots';
import { TufServer } from './tuf-server';
import { TileLogs } from './tile-logs';
import { METRICS_PORT_NAME, PART_OF_LABELS } from './workload';

/** The name of a log's shard generation N (`rekor`, `rekor-g2`, …): its tree's ConfigMap is `<name>-tree`. */
export function logShardName(log: 'rekor' | 'ctlog', generation: number): string {
  return generation === 1 ? SERVICE_NAMES[log] : `${SERVICE_NAMES[log]}-g${generation}`;
}

/** The URL prefix of CT log shard generation N: the configured prefix, then `<prefix>-g<N>`. */
export function ctlogShardPrefix(prefix: string, generation: number): string {
  return generation === 1 ? prefix : `${prefix}-g${generation}`;
}

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
 * the CT log, Fulcio, the TSA, the TUF server, the trust-roots ConfigMaps and the Ingresses. With
 * `logs.rekor: v2` / `logs.ct: tesseract` the tile-based logs replace Rekor v1 / ct_server (TileLogs),
 * and Trillian, MySQL and the tree Jobs remain only for a log that still runs on them, or that a
 * migration (`rotate rekor-log | ct-log`, lib/lifecycle/log-migrations.ts) keeps beside the
 * tile-based one: writable until the cut-over, its trees frozen from it, still served. Key material
 * goes to `secrets`, never here.
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
  /**
   * The Trillian-backed log a migration replaced (`rotate rekor-log | ct-log`), deployed beside the
   * tile-based one: writable until the cut-over, then its trees frozen (read-only). @default - none
   */
  readonly migratedFrom: { readonly rekor?: Rekor; readonly ctlog?: CtLog };
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
    new PodPlacement(this, { ...config.scheduling, imagePullSecrets: config.images.pullSecrets });

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
    // A migrated log (lib/lifecycle/log-migrations.ts) keeps its Trillian-backed server beside the tile-based one.
    const migrations = material.logMigrations ?? {};
    const rekorV1Needed = tileLogs.rekor === undefined || migrations.rekor !== undefined;
    const ctServerNeeded = tileLogs.ctlog === undefined || migrations.ctlog !== undefined;
    const trillianNeeded = rekorV1Needed || ctServerNeeded;
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

    const treeIds = config.services.trillian.treeIds;
    const trillian = (this.trillian = mysql && new Trillian(this, 'Trillian', {
      namespace,
      database: mysql.connection,
      logServerReplicas: config.services.trillian.logServerReplicas,
      logSignerReplicas: config.services.trillian.logSignerReplicas,
      electionTrees: treeIds && [
        { treeId: treeIds.rekor, configMapName: TreeJob.configMapName(SERVICE_NAMES.rekor) },
        { treeId: treeIds.ctlog, configMapName: TreeJob.configMapName(SERVICE_NAMES.ctlog) },
        ...treeIds.rekorShards.map((treeId, index) => ({ treeId, configMapName: TreeJob.configMapName(logShardName('rekor', index + 2)) })),
        ...treeIds.ctlogShards.map((treeId, index) => ({ treeId, configMapName: TreeJob.configMapName(logShardName('ctlog', index + 2)) })),
      ],
      shellImage: image(IMAGES.curl),
      logServerImage: image(IMAGES.trillianLogServer),
      logSignerImage: image(IMAGES.trillianLogSigner),
    }));
    const treeJob = (id: string, name: string, displayName: string, pinnedTreeId?: string) =>
      new TreeJob(this, id, { name, namespace, adminServer: trillian!.logServerAddress, displayName, image: image(IMAGES.createtree), pinnedTreeId });
    this.rekorTree = rekorV1Needed ? treeJob('RekorTree', SERVICE_NAMES.rekor, 'rekor', treeIds?.rekor) : undefined;
    this.ctlogTree = ctServerNeeded ? treeJob('CtLogTree', SERVICE_NAMES.ctlog, 'ctlog', treeIds?.ctlog) : undefined;
    // Log shards of the Trillian-backed logs (rotate rekor-key | ctlog-key): every later generation's
    // tree is created as soon as the generation is in the state (before its cut-over); the log writes
    // to the active one, serves the older ones read-only, and each older tree is frozen once inactive.
    const shardsOf = (log: 'rekor' | 'ctlog', firstTree: TreeJob) => {
      const history = log === 'rekor' ? material.history.rekorKeys : material.history.ctlogKeys;
      const pinnedShards = log === 'rekor' ? treeIds?.rekorShards : treeIds?.ctlogShards;
      const trees = new Map<number, TreeJob>([[1, firstTree]]);
      for (const generation of history.map((key) => key.generation).filter((generation) => generation > 1)) {
        const name = logShardName(log, generation);
        trees.set(generation, treeJob(`${log === 'rekor' ? 'Rekor' : 'CtLog'}TreeG${generation}`, name, name, pinnedShards?.[generation - 2]));
      }
      const pinnedTreeId = (generation: number): string => {
        const pinned = generation === 1 ? treeIds?.[log] : pinnedShards?.[generation - 2];
        if (!pinned) {
          const field = generation === 1 ? log : `${log}Shards[${generation - 2}]`;
          throw new ConfigError(
            'CONFIG_INVALID',
            `services.trillian.treeIds.${field}: ${log} shard generation ${generation} is inactive and must have its tree id pinned ` +
              `(kubectl -n ${namespace} get configmap ${TreeJob.configMapName(logShardName(log, generation))} -o jsonpath='{.data.treeID}')`,
          );
        }
        return pinned;
      };
      const inactive = material.inactiveLogKeys[log].map((key) => ({ generation: key.generation, treeId: pinnedTreeId(key.generation), signingKey: key.privateKey }));
      const active = material.activeGenerations[log === 'rekor' ? 'rekor-key' : 'ctlog-key'];
      // From a migration's cut-over the log takes no new entries: its active tree is frozen too (the server stays, read-only).
      const frozen = migrations[log]?.cutOverReached ? [...inactive, { generation: active, treeId: pinnedTreeId(active) }] : inactive;
      for (const shard of frozen) {
        new TreeFreezeJob(this, `${log === 'rekor' ? 'Rekor' : 'CtLog'}TreeFreezeG${shard.generation}`, {
          name: `${logShardName(log, shard.generation)}-freeze`,
          adminServer: trillian!.logServerAddress,
          treeId: shard.treeId,
          image: image(IMAGES.updatetree),
        });
      }
      return { activeTree: trees.get(active)!, active, inactive };
    };
    const rekorShards = this.rekorTree && shardsOf('rekor', this.rekorTree);
    const ctlogShards = this.ctlogTree && shardsOf('ctlog', this.ctlogTree);

    const rekorV1 = rekorShards && new Rekor(this, 'Rekor', {
      namespace,
      replicas: config.services.rekor.replicas,
      hostname: config.services.rekor.hostname ?? `${SERVICE_NAMES.rekor}.${namespace}.svc`,
      trillian: trillian!.logServerAddress,
      treeId: rekorShards!.activeTree.treeId,
      signingKey: material.rekor.privateKey,
      inactiveShards: rekorShards!.inactive,
      secretsScope,
      image: image(IMAGES.rekor),
      redisImage: image(IMAGES.redis),
      redisPassword: passwords.redisPassword,
      redisPersistence: config.backup.redis,
      // From a migration's cut-over Rekor v1 takes no entries (its tree frozen, createLogEntry off) but serves what it logged.
      readOnly: migrations.rekor?.cutOverReached ?? false,
    });
    this.rekor = tileLogs.rekor ?? rekorV1!;

    const pem = (certificates: { toString(format: 'pem'): string }[]) => certificates.map((certificate) => `${certificate.toString('pem')}\n`).join('');
    const ctServer = ctlogShards && new CtLog(this, 'CtLog', {
      namespace,
      replicas: config.services.ctlog.replicas,
      // Each shard has its own prefix (`<prefix>-g<N>`); Fulcio submits to the active one.
      prefix: ctlogShardPrefix(config.services.ctlog.prefix, ctlogShards!.active),
      trillian: trillian!.logServerAddress,
      treeId: ctlogShards!.activeTree.treeId,
      inactiveShards: ctlogShards!.inactive.map((shard) => ({ ...shard, prefix: ctlogShardPrefix(config.services.ctlog.prefix, shard.generation) })),
      // Every Fulcio root still valid: during a fulcio-root rotation the CT log accepts pre-certificates from both.
      rootsPem: pem([...material.rootsInUse.fulcio]),
      signingKey: material.ctlog.privateKey,
      secretsScope,
      image: image(IMAGES.ctServer),
      shellImage: image(IMAGES.curl),
      // The same for ct_server: every log config is_readonly from a migration's cut-over.
      readOnly: migrations.ctlog?.cutOverReached ?? false,
    });
    this.ctlog = tileLogs.ctlog ?? ctServer!;
    this.migratedFrom = { rekor: tileLogs.rekor ? rekorV1 : undefined, ctlog: tileLogs.ctlog ? ctServer : undefined };
    // Fulcio has one CT log: sigstore/fulcio v1.8.8 cmd/app/serve.go reads the single flag
    // --ct-log-url once at start-up (ctclient.New). So it submits to ct_server until a migration's
    // cut-over and to TesseraCT from it: `synth --at` changes the flag and the pods roll.
    const fulcioCtLog = this.migratedFrom.ctlog && !migrations.ctlog?.cutOverReached ? this.migratedFrom.ctlog : this.ctlog;

    this.fulcio = new Fulcio(this, 'Fulcio', {
      namespace,
      replicas: config.services.fulcio.replicas,
      caChainPem: pem([material.fulcio.intermediate, material.fulcio.root]),
      caKey: material.fulcio.intermediateKey,
      issuers: trustedIssuers(config.oidc),
      oidcExtras: { metaIssuers: config.oidc.metaIssuers, ciProviders: config.oidc.ciProviders },
      ctLog: { endpoint: fulcioCtLog.endpoint, prefix: fulcioCtLog.prefix },
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
      fulcioRootPem: pem([...material.rootsInUse.fulcio]),
      tsaRootPem: pem([...material.rootsInUse.tsa]),
      fulcioChainPem: trustFile('fulcio-chain.pem'),
      tsaChainPem: trustFile('tsa-chain.pem'),
      trustedRootJson: trustFile('trusted_root.json'),
    });

    // During and after a migration the host serves both logs: `/` the old one, the tile-based one by its path.
    const services: Record<PublicService, kplus.Service> = {
      fulcio: this.fulcio.service,
      rekor: (this.migratedFrom.rekor ?? this.rekor).service,
      ctlog: (this.migratedFrom.ctlog ?? this.ctlog).service,
      tsa: this.tsa.service,
      tuf: this.tuf.service,
    };
    const extraPaths: Partial<Record<PublicService, { path: string; service: kplus.Service }[]>> = {
      // rekor-tiles serves its whole API under /api/v2 (entries, checkpoint, tiles); Rekor v1 under /api/v1.
      ...(this.migratedFrom.rekor ? { rekor: [{ path: '/api/v2', service: this.rekor.service }] } : {}),
      ...(this.migratedFrom.ctlog ? { ctlog: [{ path: `/${this.ctlog.prefix}`, service: this.ctlog.service }] } : {}),
    };
    for (const [service, kubeService] of Object.entries(services) as [PublicService, kplus.Service][]) {
      // The configured in-cluster clients reach every port of a public Service but its metrics.
      for (const exposed of [kubeService, ...(extraPaths[service] ?? []).map((extra) => extra.service)]) {
        for (const port of exposed.ports) {
          if (port.name && port.name !== METRICS_PORT_NAME) this.wiring.exposeToPublicClients(serviceEndpoint(exposed, port.name));
        }
      }
      const settings = config.services[service];
      if (!settings.hostname) continue;
      new PublicIngress(this, `Ingress-${service}`, {
        name: SERVICE_NAMES[service],
        hostname: settings.hostname,
        service: kubeService,
        extraPaths: extraPaths[service],
        ingressClassName: config.cluster.ingressClassName,
        tlsSecretName: settings.tlsSecret ?? config.cluster.ingressTlsSecret,
        annotations: { ...config.cluster.ingressAnnotations, ...settings.ingressAnnotations },
      });
    }
    const fulcioGrpc = config.services.fulcio.grpcHostname;
    if (fulcioGrpc) {
      // Fulcio's gRPC API (port 5554) on a host of its own: gRPC needs HTTP/2, so TLS at the Ingress.
      new PublicIngress(this, 'Ingress-fulcio-grpc', {
        name: `${SERVICE_NAMES.fulcio}-grpc`,
        hostname: fulcioGrpc,
        service: this.fulcio.service,
        servicePortName: 'grpc',
        ingressClassName: config.cluster.ingressClassName,
        tlsSecretName: config.services.fulcio.grpcTlsSecret ?? config.services.fulcio.tlsSecret ?? config.cluster.ingressTlsSecret,
        annotations: {
          // ingress-nginx speaks gRPC to the backend only when told (its annotation; other controllers have their own).
          ...(config.cluster.ingressClassName === 'nginx' ? { 'nginx.ingress.kubernetes.io/backend-protocol': 'GRPC' } : {}),
          ...config.cluster.ingressAnnotations,
          ...config.services.fulcio.ingressAnnotations,
        },
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
