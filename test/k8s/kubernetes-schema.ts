import { cachedFieldGraph, type FieldGraph, type KindModel } from './kubernetes-field-graph';

/*
 * Validation of synthesized objects against the Kubernetes API schemas, by programs we did not write:
 * kubernetes-models (AJV validators generated from the Kubernetes OpenAPI spec) checks types, enums
 * and required fields. It lets unknown fields through, so this module adds that check: it walks every
 * object against the TypeScript declarations kubernetes-models ships (generated from the same spec),
 * as the TypeScript type checker reads them, and reports any field the schema does not declare.
 */

/** The kinds the chart emits, with the kubernetes-models module and interface that describe them. */
export const KIND_MODELS: Record<string, KindModel> = {
  'v1/Namespace': { module: 'kubernetes-models/v1/Namespace', interface: 'INamespace' },
  'v1/ConfigMap': { module: 'kubernetes-models/v1/ConfigMap', interface: 'IConfigMap' },
  'v1/Secret': { module: 'kubernetes-models/v1/Secret', interface: 'ISecret' },
  'v1/Service': { module: 'kubernetes-models/v1/Service', interface: 'IService' },
  'v1/ServiceAccount': { module: 'kubernetes-models/v1/ServiceAccount', interface: 'IServiceAccount' },
  'v1/PersistentVolumeClaim': { module: 'kubernetes-models/v1/PersistentVolumeClaim', interface: 'IPersistentVolumeClaim' },
  'apps/v1/Deployment': { module: 'kubernetes-models/apps/v1/Deployment', interface: 'IDeployment' },
  'batch/v1/Job': { module: 'kubernetes-models/batch/v1/Job', interface: 'IJob' },
  'rbac.authorization.k8s.io/v1/Role': { module: 'kubernetes-models/rbac.authorization.k8s.io/v1/Role', interface: 'IRole' },
  'rbac.authorization.k8s.io/v1/RoleBinding': { module: 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding', interface: 'IRoleBinding' },
  'networking.k8s.io/v1/Ingress': { module: 'kubernetes-models/networking.k8s.io/v1/Ingress', interface: 'IIngress' },
  'networking.k8s.io/v1/NetworkPolicy': { module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy', interface: 'INetworkPolicy' },
  'policy/v1/PodDisruptionBudget': { module: 'kubernetes-models/policy/v1/PodDisruptionBudget', interface: 'IPodDisruptionBudget' },
  'coordination.k8s.io/v1/Lease': { module: 'kubernetes-models/coordination.k8s.io/v1/Lease', interface: 'ILease' },
  'batch/v1/CronJob': { module: 'kubernetes-models/batch/v1/CronJob', interface: 'ICronJob' },
  // A CRD (Prometheus Operator), from the same family of generated models.
  'monitoring.coreos.com/v1/ServiceMonitor': {
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
    interface: 'IServiceMonitor',
  },
};

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

export const kindKey = (object: { apiVersion: string; kind: string }) => `${object.apiVersion}/${object.kind}`;
export const describeObject = (object: KubeObject) => `${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}`;

/** Type and required-field errors from kubernetes-models' validators (empty when the object is valid). */
export function schemaErrors(object: KubeObject): string[] {
  const model = KIND_MODELS[kindKey(object)];
  if (!model) return [`${describeObject(object)}: no schema for ${kindKey(object)} (add it to KIND_MODELS)`];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const moduleExports = require(model.module) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = moduleExports[object.kind];
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    return [`${describeObject(object)}: ${(error as Error).message}`];
  }
}

let sharedChecker: UnknownFieldChecker | undefined;

/** One UnknownFieldChecker for every test of a module registry (a file, or a group of files in `npm test`). */
export function unknownFieldChecker(): UnknownFieldChecker {
  return (sharedChecker ??= new UnknownFieldChecker());
}

/**
 * Walks objects against the kubernetes-models declarations: the graph of their fields that the
 * TypeScript checker gives (test/k8s/kubernetes-field-graph.ts, built once per machine and cached).
 */
export class UnknownFieldChecker {
  /** @param graph @default the cached graph of KIND_MODELS */
  constructor(private readonly graph: FieldGraph = cachedFieldGraph(KIND_MODELS)) {}

  /** Paths of fields the schema does not declare (`spec.template.spec.containers[0].imagePullPolcy`). */
  unknownFields(object: KubeObject): string[] {
    const root = this.graph.roots[kindKey(object)];
    if (root === undefined) return [`(no schema for ${kindKey(object)})`];
    const found: string[] = [];
    this.walk(object, root, '', found);
    return found;
  }

  private walk(value: unknown, typeId: number, path: string, found: string[]): void {
    if (value === null || value === undefined || typeof value !== 'object') return;
    const type = this.graph.types[typeId];
    if (Array.isArray(value)) {
      if (type.element === undefined) return;
      value.forEach((item, index) => this.walk(item, type.element!, `${path}[${index}]`, found));
      return;
    }
    if (!type.object) return; // e.g. a quantity (string | number) given as an object: the validator reports it
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key}` : key;
      const field = type.fields && Object.hasOwn(type.fields, key) ? type.fields[key] : type.index;
      if (field === undefined) found.push(childPath);
      else this.walk(child, field, childPath, found);
    }
  }
}
