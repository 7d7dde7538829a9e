import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type ts from 'typescript';
import { fixtureMaterial } from '../helpers/fixture-state';
import { useTempDirectory } from '../helpers/temp-directory';
import { chartInput, PRODUCTION_LIKE_YAML, synthesizeCluster } from './cluster-fixture';
import { LOCK_STALE_MS, buildFieldGraph, cachedFieldGraph, fieldGraphPath, kindsProgram, type FieldGraph, type KindsProgram } from './kubernetes-field-graph';
import { KIND_MODELS, UnknownFieldChecker, kindKey, type KubeObject } from './kubernetes-schema';

/*
 * The unknown-field check walks a graph of the declarations that is built once and cached. Here the
 * graph's answers are compared with the TypeScript checker's own, walked directly as the check did
 * before the graph (one program for this file), on every object of two charts and on objects with
 * unknown fields at each kind of place; and the cache is shown to be read, rebuilt and shared.
 */
describe('the kubernetes-models field graph (test/k8s/kubernetes-field-graph.ts)', () => {
  const temp = useTempDirectory();
  let reference: CheckerWalk;
  let graph: FieldGraph;
  let objects: KubeObject[];
  beforeAll(async () => {
    // One program of the declarations for both: the graph is built from it, the reference walks its checker.
    const program = kindsProgram(KIND_MODELS);
    reference = new CheckerWalk(program);
    graph = buildFieldGraph(KIND_MODELS, program);
    const fixture = mkdtempSync(join(tmpdir(), 'sigstore-cdk-field-graph-'));
    const material = await fixtureMaterial(fixture).finally(() => rmSync(fixture, { recursive: true, force: true }));
    objects = [...synthesizeCluster(chartInput(material)).public, ...synthesizeCluster(chartInput(material, PRODUCTION_LIKE_YAML)).public];
  });

  it('finds what the TypeScript checker finds, on every object of the dev and a production-like chart and on misspelt fields', () => {
    const checker = new UnknownFieldChecker(graph);
    const deployment = structuredClone(objects.find((object) => object.kind === 'Deployment')!) as any;
    deployment.spec.template.spec.containers[0].imagePullPolcy = 'Always'; // in an array element
    deployment.spec.template.metadata.labels['any-label'] = 'x'; // under a string index: allowed
    deployment.spec.strategy = { rollingUpdate: { maxSurge: 1, maxUnavailible: 0 } }; // nested object
    deployment.spec.template.spec.volumes = [{ name: 'v', emptyDir: { medium: 'Memory', sizeLimit: '1Mi', size: 1 } }];
    deployment.specification = {}; // at the root
    const configMap = { ...structuredClone(objects.find((object) => object.kind === 'ConfigMap')!), binaryDate: {} } as KubeObject;
    const monitor: KubeObject = { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'm' }, spec: { endpoints: [{ port: 'metrics', intervall: '30s' }], selector: {} } };
    const broken = [deployment, configMap, monitor];
    expect(broken.map((object) => checker.unknownFields(object))).toEqual([
      ['spec.strategy.rollingUpdate.maxUnavailible', 'spec.template.spec.containers[0].imagePullPolcy', 'spec.template.spec.volumes[0].emptyDir.size', 'specification'],
      ['binaryDate'],
      ['spec.endpoints[0].intervall'],
    ].map((paths) => expect.arrayContaining(paths)));
    const kinds = new Set<string>();
    for (const object of [...objects, ...broken]) {
      kinds.add(kindKey(object));
      expect({ object: `${object.kind}/${object.metadata.name}`, unknown: checker.unknownFields(object) }).toEqual({ object: `${object.kind}/${object.metadata.name}`, unknown: reference.unknownFields(object) });
    }
    expect(kinds.size).toBeGreaterThanOrEqual(12);
  });

  /** buildFieldGraph's result (built once, in beforeAll), counting the builds the cache asks for. */
  const countingBuilder = () => {
    const builder = Object.assign((kinds: typeof KIND_MODELS) => {
      builder.builds.push(kinds);
      return graph;
    }, { builds: [] as (typeof KIND_MODELS)[] });
    return builder;
  };

  it('is built once into the cache and read from it after; a damaged cache file is named', () => {
    const directory = join(temp(), 'cache');
    const path = fieldGraphPath(KIND_MODELS, directory);
    const build = countingBuilder();
    expect(cachedFieldGraph(KIND_MODELS, directory, build)).toEqual(graph);
    expect(build.builds).toEqual([KIND_MODELS]);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(graph);
    expect(existsSync(`${path}.lock`)).toBe(false);
    // What is in the file is what is used: no second build.
    const marked = { ...graph, roots: { ...graph.roots, 'test/Marked': 0 } };
    writeFileSync(path, JSON.stringify(marked));
    expect(cachedFieldGraph(KIND_MODELS, directory, build)).toEqual(marked);
    expect(build.builds).toHaveLength(1);
    writeFileSync(path, '{"roots": 1}');
    expect(() => cachedFieldGraph(KIND_MODELS, directory, build)).toThrow(`${path}: not a field graph; remove it`);
    expect(build.builds).toHaveLength(1);
    // Without a builder it builds with buildFieldGraph: the machine's shared cache (which the schema checks read) holds its graph.
    expect(cachedFieldGraph(KIND_MODELS)).toEqual(graph);
  });

  it("takes over a lock its builder left behind, and names the graph after its inputs", () => {
    const directory = join(temp(), 'stale');
    const path = fieldGraphPath(KIND_MODELS, directory);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.lock`, '');
    const longAgo = new Date(Date.now() - LOCK_STALE_MS - 60_000);
    utimesSync(`${path}.lock`, longAgo, longAgo);
    const build = countingBuilder();
    expect(cachedFieldGraph(KIND_MODELS, directory, build)).toEqual(graph);
    expect(build.builds).toHaveLength(1);
    expect(existsSync(`${path}.lock`)).toBe(false);
    const fewerKinds = { 'v1/Secret': KIND_MODELS['v1/Secret'] };
    expect(fieldGraphPath(fewerKinds, directory)).not.toBe(path);
  });
});

/** The walk straight on the TypeScript checker: what UnknownFieldChecker did before the graph. */
class CheckerWalk {
  private readonly checker: ts.TypeChecker;

  constructor(private readonly program: KindsProgram) {
    this.checker = program.checker;
  }

  unknownFields(object: KubeObject): string[] {
    const found: string[] = [];
    this.walk(object, this.program.rootTypes.get(kindKey(object))!, '', found);
    return found;
  }

  private walk(value: unknown, type: ts.Type, path: string, found: string[]): void {
    if (value === null || value === undefined || typeof value !== 'object') return;
    const { TypeFlags } = this.program.ts;
    const candidates = (type.isUnion() ? type.types : [type]).filter((member) => !(member.flags & (TypeFlags.Undefined | TypeFlags.Null)));
    if (Array.isArray(value)) {
      const arrays = candidates.filter((member) => this.checker.isArrayType(member));
      if (arrays.length === 0) return;
      const element = this.checker.getTypeArguments(arrays[0] as ts.TypeReference)[0];
      value.forEach((item, index) => this.walk(item, element, `${path}[${index}]`, found));
      return;
    }
    const objects = candidates.filter((member) => member.flags & TypeFlags.Object && !this.checker.isArrayType(member));
    if (objects.length === 0) return;
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
