import { dirname, join } from 'node:path';
import ts from 'typescript';

/*
 * Validation of synthesized objects against the Kubernetes API schemas, by programs we did not write:
 * kubernetes-models (AJV validators generated from the Kubernetes OpenAPI spec) checks types, enums
 * and required fields. It lets unknown fields through, so this module adds that check: it walks every
 * object against the TypeScript declarations kubernetes-models ships (generated from the same spec)
 * with the TypeScript type checker, and reports any field the schema does not declare.
 */

/** The kinds the chart emits, with the kubernetes-models module and interface that describe them. */
export const KIND_MODELS: Record<string, { module: string; interface: string }> = {
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

/**
 * One UnknownFieldChecker for every test of a module registry (a file, or a group of files in
 * `npm test`): building its TypeScript program costs about half a second of CPU, and a built
 * checker only reads.
 */
export function unknownFieldChecker(): UnknownFieldChecker {
  return (sharedChecker ??= new UnknownFieldChecker());
}

/** Walks objects against the kubernetes-models declarations with the TypeScript checker. */
export class UnknownFieldChecker {
  private readonly checker: ts.TypeChecker;
  private readonly rootTypes = new Map<string, ts.Type>();

  constructor() {
    const modelsRoot = dirname(require.resolve('kubernetes-models/package.json'));
    const entry = join(modelsRoot, '__unknown_field_check__.ts');
    const source = [
      ...Object.values(KIND_MODELS).map((model, index) => `import type { ${model.interface} as T${index} } from '${model.module}';`),
      `export interface Kinds { ${Object.keys(KIND_MODELS).map((key, index) => `'${key}': T${index};`).join(' ')} }`,
    ].join('\n');
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      lib: ['lib.es2022.d.ts'],
      types: [],
      noEmit: true,
      skipLibCheck: true,
      strict: true,
    };
    const host = ts.createCompilerHost(options);
    const readFile = host.readFile.bind(host);
    const fileExists = host.fileExists.bind(host);
    const getSourceFile = host.getSourceFile.bind(host);
    host.readFile = (file) => (file === entry ? source : readFile(file));
    host.fileExists = (file) => file === entry || fileExists(file);
    host.getSourceFile = (file, language, onError, create) =>
      file === entry ? ts.createSourceFile(file, source, language) : getSourceFile(file, language, onError, create);
    const program = ts.createProgram([entry], options, host);
    const problems = ts.getPreEmitDiagnostics(program).filter((diagnostic) => diagnostic.file?.fileName === entry);
    if (problems.length > 0) throw new Error(ts.formatDiagnostics(problems, host));
    this.checker = program.getTypeChecker();
    const kinds = this.checker.getExportsOfModule(this.checker.getSymbolAtLocation(program.getSourceFile(entry)!)!).find((symbol) => symbol.name === 'Kinds')!;
    const kindsType = this.checker.getDeclaredTypeOfSymbol(kinds);
    for (const property of this.checker.getPropertiesOfType(kindsType)) {
      this.rootTypes.set(property.name, this.checker.getTypeOfSymbol(property));
    }
  }

  /** Paths of fields the schema does not declare (`spec.template.spec.containers[0].imagePullPolcy`). */
  unknownFields(object: KubeObject): string[] {
    const type = this.rootTypes.get(kindKey(object));
    if (!type) return [`(no schema for ${kindKey(object)})`];
    const found: string[] = [];
    this.walk(object, type, '', found);
    return found;
  }

  private walk(value: unknown, type: ts.Type, path: string, found: string[]): void {
    if (value === null || value === undefined || typeof value !== 'object') return;
    const candidates = (type.isUnion() ? type.types : [type]).filter((member) => !(member.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
    if (Array.isArray(value)) {
      const arrays = candidates.filter((member) => this.checker.isArrayType(member));
      if (arrays.length === 0) return;
      const element = this.checker.getTypeArguments(arrays[0] as ts.TypeReference)[0];
      value.forEach((item, index) => this.walk(item, element, `${path}[${index}]`, found));
      return;
    }
    const objects = candidates.filter((member) => member.flags & ts.TypeFlags.Object && !this.checker.isArrayType(member));
    if (objects.length === 0) return; // e.g. a quantity (string | number) given as an object: the validator reports it
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key}` : key;
      const property = objects.map((member) => member.getProperty(key)).find((symbol) => symbol !== undefined);
      if (property) {
        this.walk(child, this.checker.getTypeOfSymbol(property), childPath, found);
        continue;
      }
      const index = objects.map((member) => member.getStringIndexType()).find((indexType) => indexType !== undefined);
      if (index) this.walk(child, index, childPath, found);
      else found.push(childPath);
    }
  }
}
