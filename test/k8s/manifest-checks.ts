import { describeObject, type KubeObject } from './kubernetes-schema';

/*
 * Checks over a whole synthesized stack, each returning the problems it finds (an empty list when the
 * stack is consistent). Tests run them over several configurations, and over deliberately broken
 * copies to show that each check can fail.
 */

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Pod = { owner: KubeObject; spec: any; labels: Record<string, string>; longRunning: boolean };

/** The pod templates of Deployments, Jobs and CronJobs. */
export function podTemplates(objects: readonly KubeObject[]): Pod[] {
  return objects
    .filter((object) => object.kind === 'Deployment' || object.kind === 'Job' || object.kind === 'CronJob')
    .map((object) => {
      const template = object.kind === 'CronJob' ? (object as any).spec.jobTemplate.spec.template : (object as any).spec.template;
      return { owner: object, spec: template.spec, labels: template.metadata?.labels ?? {}, longRunning: object.kind === 'Deployment' };
    });
}

export function containersOf(pod: Pod): { container: any; init: boolean }[] {
  return [
    ...(pod.spec.initContainers ?? []).map((container: any) => ({ container, init: true })),
    ...(pod.spec.containers ?? []).map((container: any) => ({ container, init: false })),
  ];
}

const namespaceOf = (object: KubeObject) => object.metadata.namespace ?? '';

export interface ReferenceOptions {
  /** Secrets the operator creates (external database credentials, TLS): `namespace/name`. */
  readonly operatorSecrets?: readonly string[];
}

/**
 * Every Secret and ConfigMap (and key) a pod reads exists in the output, or, for ConfigMap keys, is
 * written by a createtree Job; every service account a pod or RoleBinding names exists; every Role a
 * binding names exists; every Ingress backend is a Service port.
 */
export function referenceProblems(objects: readonly KubeObject[], options: ReferenceOptions = {}): string[] {
  const problems: string[] = [];
  const byKey = new Map(objects.map((object) => [`${object.kind}/${namespaceOf(object)}/${object.metadata.name}`, object as any]));
  const treeKeys = new Set<string>();
  for (const pod of podTemplates(objects)) {
    for (const { container } of containersOf(pod)) {
      if (container.name !== 'createtree') continue;
      const flag = (name: string) => (container.args as string[]).find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1];
      treeKeys.add(`${flag('namespace')}/${flag('configmap')}/treeID`);
    }
  }
  const operatorSecrets = new Set(options.operatorSecrets ?? []);
  const checkKey = (owner: KubeObject, kind: 'Secret' | 'ConfigMap', name: string, key: string | undefined, optional: boolean) => {
    const namespace = namespaceOf(owner);
    if (kind === 'Secret' && operatorSecrets.has(`${namespace}/${name}`)) return;
    const object = byKey.get(`${kind}/${namespace}/${name}`);
    if (!object) {
      if (!optional) problems.push(`${describeObject(owner)} reads ${kind} ${namespace}/${name}, which is not in the output`);
      return;
    }
    if (key === undefined) return;
    const data = { ...(object.data ?? {}), ...(object.stringData ?? {}), ...(object.binaryData ?? {}) };
    if (key in data) return;
    if (kind === 'ConfigMap' && treeKeys.has(`${namespace}/${name}/${key}`)) return;
    if (!optional) problems.push(`${describeObject(owner)} reads key "${key}" of ${kind} ${namespace}/${name}, which has no such key and no Job writes it`);
  };
  for (const pod of podTemplates(objects)) {
    for (const { container } of containersOf(pod)) {
      for (const variable of container.env ?? []) {
        const from = variable.valueFrom ?? {};
        if (from.secretKeyRef) checkKey(pod.owner, 'Secret', from.secretKeyRef.name, from.secretKeyRef.key, from.secretKeyRef.optional === true);
        if (from.configMapKeyRef) checkKey(pod.owner, 'ConfigMap', from.configMapKeyRef.name, from.configMapKeyRef.key, from.configMapKeyRef.optional === true);
      }
      for (const source of container.envFrom ?? []) {
        if (source.secretRef) checkKey(pod.owner, 'Secret', source.secretRef.name, undefined, source.secretRef.optional === true);
        if (source.configMapRef) checkKey(pod.owner, 'ConfigMap', source.configMapRef.name, undefined, source.configMapRef.optional === true);
      }
      const volumeNames = new Set((pod.spec.volumes ?? []).map((volume: any) => volume.name));
      for (const mount of container.volumeMounts ?? []) {
        if (!volumeNames.has(mount.name)) problems.push(`${describeObject(pod.owner)}: container ${container.name} mounts undefined volume ${mount.name}`);
      }
    }
    for (const volume of pod.spec.volumes ?? []) {
      const sources = volume.projected ? volume.projected.sources : [volume];
      for (const source of sources) {
        if (source.secret) {
          const name = source.secret.secretName ?? source.secret.name;
          checkKey(pod.owner, 'Secret', name, undefined, source.secret.optional === true);
          for (const item of source.secret.items ?? []) checkKey(pod.owner, 'Secret', name, item.key, source.secret.optional === true);
        }
        if (source.configMap) {
          checkKey(pod.owner, 'ConfigMap', source.configMap.name, undefined, source.configMap.optional === true);
          for (const item of source.configMap.items ?? []) checkKey(pod.owner, 'ConfigMap', source.configMap.name, item.key, source.configMap.optional === true);
        }
        if (source.persistentVolumeClaim && !byKey.has(`PersistentVolumeClaim/${namespaceOf(pod.owner)}/${source.persistentVolumeClaim.claimName}`)) {
          problems.push(`${describeObject(pod.owner)} mounts PersistentVolumeClaim ${source.persistentVolumeClaim.claimName}, which is not in the output`);
        }
      }
    }
    const serviceAccount = pod.spec.serviceAccountName;
    if (serviceAccount && !byKey.has(`ServiceAccount/${namespaceOf(pod.owner)}/${serviceAccount}`)) {
      problems.push(`${describeObject(pod.owner)} runs as ServiceAccount ${serviceAccount}, which is not in the output`);
    }
  }
  for (const binding of objects.filter((object) => object.kind === 'RoleBinding') as any[]) {
    if (!byKey.has(`${binding.roleRef.kind}/${namespaceOf(binding)}/${binding.roleRef.name}`)) {
      problems.push(`${describeObject(binding)} binds ${binding.roleRef.kind} ${binding.roleRef.name}, which is not in the output`);
    }
    for (const subject of binding.subjects ?? []) {
      if (subject.kind === 'ServiceAccount' && !byKey.has(`ServiceAccount/${subject.namespace ?? namespaceOf(binding)}/${subject.name}`)) {
        problems.push(`${describeObject(binding)} binds ServiceAccount ${subject.name}, which is not in the output`);
      }
    }
  }
  for (const ingress of objects.filter((object) => object.kind === 'Ingress') as any[]) {
    for (const rule of ingress.spec.rules ?? []) {
      for (const path of rule.http?.paths ?? []) {
        const backend = path.backend.service;
        const service = byKey.get(`Service/${namespaceOf(ingress)}/${backend.name}`);
        if (!service || !service.spec.ports.some((port: any) => port.port === backend.port.number)) {
          problems.push(`${describeObject(ingress)} routes ${rule.host} to ${backend.name}:${backend.port.number}, which no Service serves`);
        }
      }
    }
    for (const tls of ingress.spec.tls ?? []) checkKey(ingress, 'Secret', tls.secretName, undefined, false);
  }
  return problems;
}

/** Every Service selects at least one pod template, and each target port is a port of those pods. */
export function selectorProblems(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  const pods = podTemplates(objects).filter((pod) => pod.longRunning);
  for (const service of objects.filter((object) => object.kind === 'Service') as any[]) {
    const selector: Record<string, string> = service.spec.selector ?? {};
    if (Object.keys(selector).length === 0) {
      problems.push(`${describeObject(service)} has no selector`);
      continue;
    }
    const selected = pods.filter(
      (pod) => namespaceOf(pod.owner) === namespaceOf(service) && Object.entries(selector).every(([key, value]) => pod.labels[key] === value),
    );
    if (selected.length === 0) {
      problems.push(`${describeObject(service)} selects ${JSON.stringify(selector)}, which matches no pod template`);
      continue;
    }
    for (const port of service.spec.ports) {
      const target = port.targetPort ?? port.port;
      for (const pod of selected) {
        const ports = (pod.spec.containers as any[]).flatMap((container) => container.ports ?? []);
        if (!ports.some((containerPort) => containerPort.containerPort === target || containerPort.name === target)) {
          problems.push(`${describeObject(service)} port ${port.port} targets ${target}, which ${describeObject(pod.owner)} does not expose`);
        }
      }
    }
  }
  return problems;
}

/** An in-cluster address found in the output: where, the host, and the port it is used with. */
export interface ServiceReference {
  readonly where: string;
  readonly host: string;
  readonly port: number;
}

const SERVICE_HOST = /([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(?:\.cluster\.local)?(?::(\d+))?/g;
/** Flags that give an address's port separately. */
const PORT_FLAGS: Record<string, string> = {
  '--trillian_log_server.address': '--trillian_log_server.port',
  '--redis_server.address': '--redis_server.port',
};

/**
 * Every `<service>.<namespace>.svc` address in container args and ConfigMap data, with its port: an
 * explicit `:port`, a separate port flag (Rekor's), or 80 for URLs and hostnames.
 */
export function serviceReferences(objects: readonly KubeObject[]): ServiceReference[] {
  const references: ServiceReference[] = [];
  const scan = (where: string, text: string, portFlagValue?: string) => {
    for (const match of text.matchAll(SERVICE_HOST)) {
      const port = match[5] ? Number(match[5]) : portFlagValue ? Number(portFlagValue) : 80;
      references.push({ where, host: `${match[1]}.${match[3]}.svc`, port });
    }
  };
  for (const pod of podTemplates(objects)) {
    for (const { container } of containersOf(pod)) {
      const args: string[] = [...(container.command ?? []), ...(container.args ?? [])];
      for (const arg of args) {
        const [flag, value] = arg.split(/=(.*)/s, 2);
        const portFlag = PORT_FLAGS[flag];
        const portValue = portFlag ? args.find((other) => other.startsWith(`${portFlag}=`))?.split('=')[1] : undefined;
        scan(`${describeObject(pod.owner)} ${container.name} ${flag}`, value ?? arg, portValue);
      }
    }
  }
  for (const configMap of objects.filter((object) => object.kind === 'ConfigMap') as any[]) {
    for (const [key, value] of Object.entries(configMap.data ?? {})) scan(`${describeObject(configMap)} ${key}`, String(value));
  }
  return references;
}

/** References whose host is not a Service of the output, or whose port that Service does not serve. */
export function addressProblems(objects: readonly KubeObject[]): string[] {
  const services = new Map(
    (objects.filter((object) => object.kind === 'Service') as any[]).map((service) => [`${service.metadata.name}.${namespaceOf(service)}.svc`, service]),
  );
  return serviceReferences(objects).flatMap((reference) => {
    const service = services.get(reference.host);
    if (!service) return [`${reference.where}: ${reference.host} is not a Service in the output`];
    if (!service.spec.ports.some((port: any) => port.port === reference.port)) {
      return [`${reference.where}: ${reference.host}:${reference.port}, but the Service serves ports ${service.spec.ports.map((port: any) => port.port).join(', ')}`];
    }
    return [];
  });
}

/** Every container image is pinned by digest (and, when given, one of `allowed`). */
export function imageProblems(objects: readonly KubeObject[], allowed?: ReadonlySet<string>): string[] {
  return podTemplates(objects).flatMap((pod) =>
    containersOf(pod).flatMap(({ container }) => {
      const where = `${describeObject(pod.owner)} ${container.name}`;
      if (!/@sha256:[0-9a-f]{64}$/.test(container.image)) return [`${where}: image ${container.image} is not pinned by digest`];
      if (allowed && !allowed.has(container.image)) return [`${where}: image ${container.image} is not in the images table`];
      return [];
    }),
  );
}

/**
 * The pod security every pod must have: non-root with a non-zero uid, no privilege escalation, all
 * capabilities dropped and none added, seccomp RuntimeDefault, read-only root filesystem, not
 * privileged, requests and limits for CPU and memory, liveness and readiness probes on long-running
 * containers, no host namespaces or host paths, and a service account token only with a service account.
 */
export function securityProblems(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  for (const pod of podTemplates(objects)) {
    const owner = describeObject(pod.owner);
    const podContext = pod.spec.securityContext ?? {};
    for (const field of ['hostNetwork', 'hostPID', 'hostIPC']) if (pod.spec[field] === true) problems.push(`${owner}: ${field}`);
    if ((pod.spec.volumes ?? []).some((volume: any) => volume.hostPath)) problems.push(`${owner}: hostPath volume`);
    if (pod.spec.automountServiceAccountToken !== false && !pod.spec.serviceAccountName) {
      problems.push(`${owner}: mounts a service account token without a service account of its own`);
    }
    for (const { container, init } of containersOf(pod)) {
      const where = `${owner} ${container.name}`;
      const context = container.securityContext ?? {};
      const runAsNonRoot = context.runAsNonRoot ?? podContext.runAsNonRoot;
      const runAsUser = context.runAsUser ?? podContext.runAsUser;
      if (runAsNonRoot !== true) problems.push(`${where}: runAsNonRoot is not true`);
      if (!(typeof runAsUser === 'number' && runAsUser > 0)) problems.push(`${where}: no non-zero runAsUser`);
      if (context.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
      if (context.privileged === true) problems.push(`${where}: privileged`);
      if (!(context.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where}: capabilities not dropped (ALL)`);
      if ((context.capabilities?.add ?? []).length > 0) problems.push(`${where}: adds capabilities`);
      if ((context.seccompProfile ?? podContext.seccompProfile)?.type !== 'RuntimeDefault') problems.push(`${where}: seccomp is not RuntimeDefault`);
      if (context.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem is writable`);
      for (const bound of ['requests', 'limits']) {
        for (const resource of ['cpu', 'memory']) {
          if (container.resources?.[bound]?.[resource] === undefined) problems.push(`${where}: no ${bound}.${resource}`);
        }
      }
      if (pod.longRunning && !init) {
        if (!container.livenessProbe) problems.push(`${where}: no liveness probe`);
        if (!container.readinessProbe) problems.push(`${where}: no readiness probe`);
      }
    }
  }
  return problems;
}

/** A container argument (or command word) that expands a Secret-sourced environment variable. */
export interface SecretArgvReference {
  readonly workload: string;
  readonly container: string;
  /** The flag (`--name`), or the whole word when it is not a flag. */
  readonly flag: string;
  readonly variables: readonly string[];
}

/**
 * Every `$(VAR)` in a container's `command` or `args` whose VAR comes from a Secret (`secretKeyRef`,
 * or any variable of an `envFrom` Secret): Kubernetes expands these into the process's argv, which
 * `ps` on the node shows to everyone.
 */
export function secretArgvReferences(objects: readonly KubeObject[]): SecretArgvReference[] {
  const found: SecretArgvReference[] = [];
  for (const pod of podTemplates(objects)) {
    for (const { container } of containersOf(pod)) {
      const fromSecret = new Set<string>((container.env ?? []).filter((variable: any) => variable.valueFrom?.secretKeyRef).map((variable: any) => variable.name));
      const anyFromSecret = (container.envFrom ?? []).some((source: any) => source.secretRef);
      for (const word of [...(container.command ?? []), ...(container.args ?? [])] as string[]) {
        const variables = [...word.matchAll(/\$\(([^)]+)\)/g)].map((match) => match[1]).filter((name) => anyFromSecret || fromSecret.has(name));
        if (variables.length === 0) continue;
        const flag = word.startsWith('--') ? word.split('=')[0] : word;
        found.push({ workload: pod.owner.metadata.name, container: container.name, flag, variables });
      }
    }
  }
  return found;
}

/** Which workloads read each Secret (by volume or environment), as `Secret name -> sorted workload names`. */
export function secretConsumers(objects: readonly KubeObject[]): Record<string, string[]> {
  const consumers: Record<string, Set<string>> = {};
  const add = (secret: string, workload: string) => (consumers[secret] ??= new Set()).add(workload);
  for (const pod of podTemplates(objects)) {
    const workload = pod.owner.metadata.name;
    for (const volume of pod.spec.volumes ?? []) if (volume.secret) add(volume.secret.secretName, workload);
    for (const { container } of containersOf(pod)) {
      for (const variable of container.env ?? []) if (variable.valueFrom?.secretKeyRef) add(variable.valueFrom.secretKeyRef.name, workload);
      for (const source of container.envFrom ?? []) if (source.secretRef) add(source.secretRef.name, workload);
    }
  }
  return Object.fromEntries(Object.entries(consumers).map(([secret, workloads]) => [secret, [...workloads].sort()]).sort(([a], [b]) => (a < b ? -1 : 1)));
}
