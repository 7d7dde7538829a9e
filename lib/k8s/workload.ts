import { Cron, Duration, Size } from 'cdk8s';
import { kplus } from './kplus';
import type { Construct } from 'constructs';
import type { EncryptedKey } from '../pki/state-items';
import { COMPONENT_LABEL, NetworkWiring, recordServiceComponent, serviceEndpoint, type ServiceEndpoint } from './network-wiring';
import { PodPlacement } from './pod-placement';
import { prometheusAnnotations } from './prometheus-annotations';
import { requireProp } from './prop-validation';

/*
 * How every pod of the chart is hardened, in one place: non-root with a numeric uid, no privilege
 * escalation, all capabilities dropped, seccomp RuntimeDefault, read-only root filesystem (writable
 * emptyDirs where an image needs them), requests and limits, probes, explicit labels and selectors,
 * no service account token unless the pod talks to the Kubernetes API. These satisfy the "restricted"
 * Pod Security Standard, which the chart's namespace enforces.
 */

/** The uid/gid of the distroless and ko-built images (`nonroot`). */
export const NONROOT_ID = 65532;

/** Labels every object of the stack carries. */
export const PART_OF_LABELS = { 'app.kubernetes.io/part-of': 'sigstore', 'app.kubernetes.io/managed-by': 'sigstore-cdk' } as const;

export { COMPONENT_LABEL };

/** Labels of one component (on its pods, Services select on them). */
export function componentLabels(component: string): Record<string, string> {
  return { [COMPONENT_LABEL]: component, ...PART_OF_LABELS };
}

/** CPU in millicores and memory in MiB, request and limit. */
export interface ResourceBudget {
  readonly cpuMillis: { readonly request: number; readonly limit: number };
  readonly memoryMebibytes: { readonly request: number; readonly limit: number };
}

export function containerResources(budget: ResourceBudget): kplus.ContainerResources {
  return {
    cpu: { request: kplus.Cpu.millis(budget.cpuMillis.request), limit: kplus.Cpu.millis(budget.cpuMillis.limit) },
    memory: { request: Size.mebibytes(budget.memoryMebibytes.request), limit: Size.mebibytes(budget.memoryMebibytes.limit) },
  };
}

/** The container security context every container gets. */
export function restrictedContainerSecurity(id = NONROOT_ID): kplus.ContainerSecurityContextProps {
  return {
    ensureNonRoot: true,
    user: id,
    group: id,
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: [kplus.Capability.ALL] },
    seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
  };
}

/** A container as the chart builds them: probes and a budget are required, security is fixed. */
export interface SecureContainerProps {
  readonly name: string;
  readonly image: string;
  readonly args?: string[];
  readonly command?: string[];
  readonly ports?: kplus.ContainerPort[];
  readonly envVariables?: Record<string, kplus.EnvValue>;
  readonly volumeMounts?: kplus.VolumeMount[];
  readonly resources: ResourceBudget;
  /** Required for long-running containers; jobs and init containers have none. */
  readonly liveness?: kplus.Probe;
  readonly readiness?: kplus.Probe;
  /** @default - none (liveness starts at once) */
  readonly startup?: kplus.Probe;
  /** Numeric uid and gid the image runs as. @default 65532 */
  readonly runAs?: number;
}

export function secureContainer(props: SecureContainerProps): kplus.ContainerProps {
  return {
    name: props.name,
    image: props.image,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    args: props.args,
    command: props.command,
    ports: props.ports,
    envVariables: props.envVariables,
    volumeMounts: props.volumeMounts,
    resources: containerResources(props.resources),
    liveness: props.liveness,
    readiness: props.readiness,
    startup: props.startup,
    securityContext: restrictedContainerSecurity(props.runAs ?? NONROOT_ID),
  };
}

/** HTTP GET probe on a container port. */
export function httpProbe(path: string, port: number, options: { initialDelaySeconds?: number; periodSeconds?: number; failureThreshold?: number } = {}): kplus.Probe {
  return kplus.Probe.fromHttpGet(path, {
    port,
    initialDelaySeconds: options.initialDelaySeconds === undefined ? undefined : Duration.seconds(options.initialDelaySeconds),
    periodSeconds: Duration.seconds(options.periodSeconds ?? 10),
    timeoutSeconds: Duration.seconds(3),
    failureThreshold: options.failureThreshold ?? 3,
  });
}

/** A startup probe that allows `maxSeconds` for the first success before liveness takes over. */
export function httpStartupProbe(path: string, port: number, maxSeconds: number): kplus.Probe {
  return httpProbe(path, port, { periodSeconds: 5, failureThreshold: Math.ceil(maxSeconds / 5) });
}

/**
 * The three probes of an HTTP server: startup (up to `startupSeconds` for the first success), then
 * liveness and readiness on the same endpoint. Spread into container props.
 */
export function httpHealthProbes(path: string, port: number, startupSeconds = 120): { startup: kplus.Probe; liveness: kplus.Probe; readiness: kplus.Probe } {
  return { startup: httpStartupProbe(path, port, startupSeconds), liveness: httpProbe(path, port), readiness: httpProbe(path, port) };
}

export interface SecureDeploymentProps {
  /** Deployment name (also the component label). */
  readonly name: string;
  readonly replicas: number;
  readonly containers: kplus.ContainerProps[];
  readonly initContainers?: kplus.ContainerProps[];
  readonly volumes?: kplus.Volume[];
  /** Only for pods that call the Kubernetes API. @default - no service account token */
  readonly serviceAccount?: kplus.IServiceAccount;
  /** uid/gid of the pod; also its fsGroup. @default 65532 */
  readonly runAs?: number;
  /** @default - rolling update */
  readonly strategy?: kplus.DeploymentStrategy;
  /** Extra labels on the pods. @default - none */
  readonly podLabels?: Record<string, string>;
  /** The container port serving Prometheus metrics: the pods get the `prometheus.io/*` annotations. @default - none */
  readonly metricsPort?: number;
}

/** A Deployment with the chart's labels, explicit selector and pod security. */
export function secureDeployment(scope: Construct, id: string, props: SecureDeploymentProps): kplus.Deployment {
  const labels = componentLabels(props.name);
  const runAs = props.runAs ?? NONROOT_ID;
  NetworkWiring.of(scope).register(props.name);
  const deployment = new kplus.Deployment(scope, id, {
    metadata: { name: props.name, labels },
    replicas: props.replicas,
    select: false,
    podMetadata: {
      labels: { ...labels, ...props.podLabels },
      annotations: props.metricsPort === undefined ? undefined : prometheusAnnotations(props.metricsPort),
    },
    containers: props.containers,
    initContainers: props.initContainers,
    volumes: props.volumes,
    serviceAccount: props.serviceAccount,
    automountServiceAccountToken: props.serviceAccount !== undefined,
    securityContext: { ensureNonRoot: true, user: runAs, group: runAs, fsGroup: runAs },
    // A rollout starts the new pod before it stops an old one: a replica keeps serving throughout
    // (single writers pass Recreate instead).
    strategy: props.strategy ?? kplus.DeploymentStrategy.rollingUpdate({ maxSurge: kplus.PercentOrAbsolute.absolute(1), maxUnavailable: kplus.PercentOrAbsolute.absolute(0) }),
  });
  deployment.select(kplus.LabelSelector.of({ labels: { [COMPONENT_LABEL]: props.name } }));
  const placement = PodPlacement.of(scope);
  placement.schedule(deployment, '/spec/template/spec');
  if (props.replicas > 1) placement.replicate(scope, deployment, props.name);
  return deployment;
}

/** The Service port name the metrics scraper reads (and the optional ServiceMonitor selects). */
export const METRICS_PORT_NAME = 'metrics';

/**
 * A Service with a stable name selecting one component's pods. Its port named `metrics` is opened to
 * the metrics scraper (the network wiring); `serviceEndpoint(service, portName)` gives clients the rest.
 */
export function componentService(
  scope: Construct,
  id: string,
  props: { name: string; component: string; ports: kplus.ServicePort[] },
): kplus.Service {
  const service = new kplus.Service(scope, id, {
    metadata: { name: props.name, labels: componentLabels(props.component) },
    ports: props.ports,
  });
  service.selectLabel(COMPONENT_LABEL, props.component);
  recordServiceComponent(service, props.component, props.ports);
  NetworkWiring.of(scope).register(props.component);
  if (props.ports.some((port) => port.name === METRICS_PORT_NAME)) NetworkWiring.of(scope).exposeMetrics(serviceEndpoint(service, METRICS_PORT_NAME));
  return service;
}

/**
 * The Service of one component's HTTP server: port 80 (named `http`) to `httpPort`, plus its metrics
 * port when it has one; with the endpoint clients are wired to (`http`).
 */
export function httpComponentService(
  scope: Construct,
  props: { name: string; httpPort: number; metricsPort?: number },
): { service: kplus.Service; endpoint: ServiceEndpoint } {
  const service = componentService(scope, 'Service', {
    name: props.name,
    component: props.name,
    ports: [
      { port: 80, targetPort: props.httpPort, name: 'http' },
      ...(props.metricsPort === undefined ? [] : [{ port: props.metricsPort, targetPort: props.metricsPort, name: METRICS_PORT_NAME }]),
    ],
  });
  return { service, endpoint: serviceEndpoint(service, 'http') };
}

export interface SigningKeySecretProps {
  /** The Secrets chart: the Secrets go there, never into the public manifests. */
  readonly secretsScope: Construct;
  /** Construct id of the key's Secret in `secretsScope` (the password's is `<secretId>Password`). */
  readonly secretId: string;
  /** Kubernetes name of the key's Secret; its password's Secret is `<secretName>-password`. */
  readonly secretName: string;
  /** The key's file name, in the Secret and in the mounted directory. */
  readonly fileName: string;
  /** Construct id of the volume. */
  readonly volumeId: string;
  /** Pod volume name. */
  readonly volumeName: string;
  /** The prop the key came from, for the error message. */
  readonly prop: string;
  readonly key: EncryptedKey;
}

/** The key Secret's password key, and the suffix of the password Secret's name. */
export const PASSWORD_KEY = 'password';

/**
 * A server's signing key as the servers read it: the encrypted PEM in one Secret and its password in
 * another (both in the Secrets chart), so that reading one never yields the other; a volume that
 * mounts the PEM, and the password as an environment value for the server's password input. Refuses a
 * key that is not encrypted.
 */
export function signingKeySecret(scope: Construct, props: SigningKeySecretProps): { volume: kplus.Volume; password: kplus.EnvValue } {
  requireProp(scope, props.key.pem.includes('ENCRYPTED'), props.prop, '<secret>', 'an encrypted PEM private key');
  const keySecret = new kplus.Secret(props.secretsScope, props.secretId, {
    metadata: { name: props.secretName },
    stringData: { [props.fileName]: props.key.pem },
  });
  const passwordSecret = new kplus.Secret(props.secretsScope, `${props.secretId}Password`, {
    metadata: { name: `${props.secretName}-${PASSWORD_KEY}` },
    stringData: { [PASSWORD_KEY]: props.key.password },
  });
  return {
    volume: kplus.Volume.fromSecret(scope, props.volumeId, keySecret, { name: props.volumeName, items: { [props.fileName]: { path: props.fileName } } }),
    password: kplus.EnvValue.fromSecretValue({ secret: passwordSecret, key: PASSWORD_KEY }),
  };
}

/** A writable emptyDir for an image that writes under a read-only root filesystem. */
export function writableDirectory(scope: Construct, id: string, name: string, sizeMebibytes: number, memory = false): kplus.Volume {
  return kplus.Volume.fromEmptyDir(scope, id, name, {
    sizeLimit: Size.mebibytes(sizeMebibytes),
    medium: memory ? kplus.EmptyDirMedium.MEMORY : kplus.EmptyDirMedium.DEFAULT,
  });
}

export interface SecureJobProps {
  /** Job name (also the component label of its pod). */
  readonly name: string;
  readonly container: kplus.ContainerProps;
  readonly volumes?: kplus.Volume[];
  /** Only for jobs that call the Kubernetes API. @default - no service account token */
  readonly serviceAccount?: kplus.IServiceAccount;
  /** Retries before the Job fails; each waits longer (pods back off exponentially). */
  readonly backoffLimit: number;
}

/**
 * A run-to-completion Job. Finished Jobs are deleted after 10 minutes, so that re-applying the
 * manifests recreates (and re-runs) them instead of failing on a changed, immutable pod template;
 * every Job of the chart is idempotent.
 */
export function secureJob(scope: Construct, id: string, props: SecureJobProps): kplus.Job {
  const labels = componentLabels(props.name);
  NetworkWiring.of(scope).register(props.name);
  const job = new kplus.Job(scope, id, {
    metadata: { name: props.name, labels },
    podMetadata: { labels },
    select: false,
    containers: [props.container],
    volumes: props.volumes,
    serviceAccount: props.serviceAccount,
    automountServiceAccountToken: props.serviceAccount !== undefined,
    securityContext: { ensureNonRoot: true, user: NONROOT_ID, group: NONROOT_ID, fsGroup: NONROOT_ID },
    backoffLimit: props.backoffLimit,
    ttlAfterFinished: Duration.minutes(10),
    restartPolicy: kplus.RestartPolicy.NEVER,
  });
  PodPlacement.of(scope).schedule(job, '/spec/template/spec');
  return job;
}

export interface SecureCronJobProps {
  /** CronJob name (also the component label of its pods). */
  readonly name: string;
  /** Five cron fields (minute hour day month weekday), validated by the caller; run in UTC. */
  readonly schedule: readonly string[];
  readonly containers: kplus.ContainerProps[];
  /** @default - none */
  readonly initContainers?: kplus.ContainerProps[];
  /** @default - none */
  readonly volumes?: kplus.Volume[];
  /** A run that could not start this long after its time is skipped. */
  readonly startingDeadline: Duration;
  /** Finished Jobs kept, for `kubectl logs`. */
  readonly successfulJobsRetained: number;
  readonly failedJobsRetained: number;
  /** Retries of a failed run. */
  readonly backoffLimit: number;
  /** A run is killed after this long. */
  readonly activeDeadline: Duration;
}

/**
 * A scheduled Job, in UTC, one run at a time (a run still going when the next is due skips that
 * one), with the pod security every workload has: non-root, no service account token, placed like
 * the others.
 */
export function secureCronJob(scope: Construct, id: string, props: SecureCronJobProps): kplus.CronJob {
  const labels = componentLabels(props.name);
  NetworkWiring.of(scope).register(props.name);
  const [minute, hour, day, month, weekDay] = props.schedule;
  const cronJob = new kplus.CronJob(scope, id, {
    metadata: { name: props.name, labels },
    podMetadata: { labels },
    select: false,
    schedule: new Cron({ minute, hour, day, month, weekDay }),
    timeZone: 'Etc/UTC',
    concurrencyPolicy: kplus.ConcurrencyPolicy.FORBID,
    startingDeadline: props.startingDeadline,
    successfulJobsRetained: props.successfulJobsRetained,
    failedJobsRetained: props.failedJobsRetained,
    backoffLimit: props.backoffLimit,
    activeDeadline: props.activeDeadline,
    volumes: props.volumes,
    initContainers: props.initContainers,
    containers: props.containers,
    automountServiceAccountToken: false,
    securityContext: { ensureNonRoot: true, user: NONROOT_ID, group: NONROOT_ID, fsGroup: NONROOT_ID },
    restartPolicy: kplus.RestartPolicy.NEVER,
  });
  PodPlacement.of(scope).schedule(cronJob, '/spec/jobTemplate/spec/template/spec');
  return cronJob;
}
