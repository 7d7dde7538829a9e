import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/*
 * The fields the kubernetes-models declarations allow, as plain data: built once with the TypeScript
 * type checker and shared by every test process of a machine through a cache file.
 *
 * Building it loads TypeScript and type-checks kubernetes-models' declarations: about 1.6 s of CPU in
 * each jest module registry that needs it (6 per `npm test`, measured on the 2-core machine). Its
 * input is only the installed declarations, so one build per set of inputs is enough: the cache file
 * is named by a digest of this module's source, the kinds asked for and the versions of TypeScript
 * and the model packages. Concurrent processes take turns through a lock file; a lock older than
 * LOCK_STALE_MS (its builder was killed) is taken over.
 */

/** One type of the declarations, as far as the unknown-field walk looks at it. */
export interface FieldType {
  /** For an array value: the element type (the first array type of a union). */
  readonly element?: number;
  /** For an object value: whether the type has an object member at all (else the walk stops). */
  readonly object?: true;
  /** Declared properties of the object members, each to its type (the first member that declares it). */
  readonly fields?: Readonly<Record<string, number>>;
  /** The string index signature of the first object member that has one (labels, annotations, data). */
  readonly index?: number;
}

export interface FieldGraph {
  /** `apiVersion/kind` → the id of its root type in `types`. */
  readonly roots: Readonly<Record<string, number>>;
  /** Type 0 is every type the walk does not descend into (strings, numbers, literal unions). */
  readonly types: readonly FieldType[];
}

export interface KindModel {
  /** The module that declares the kind (`kubernetes-models/apps/v1/Deployment`). */
  readonly module: string;
  /** Its interface (`IDeployment`). */
  readonly interface: string;
}

const DEFAULT_CACHE_DIRECTORY = join(tmpdir(), 'sigstore-cdk-test-cache');
/** A lock this old was left by a builder that was killed (a build takes about a second). */
export const LOCK_STALE_MS = 120_000;
const LOCK_POLL_MS = 50;

/**
 * The field graph of `kinds`: read from the cache when a build of the same inputs is there, else
 * built (under the lock) and cached. @param cacheDirectory @default <os.tmpdir()>/sigstore-cdk-test-cache
 */
export function cachedFieldGraph(kinds: Readonly<Record<string, KindModel>>, cacheDirectory = DEFAULT_CACHE_DIRECTORY, build: (kinds: Readonly<Record<string, KindModel>>) => FieldGraph = buildFieldGraph): FieldGraph {
  const path = fieldGraphPath(kinds, cacheDirectory);
  const lock = `${path}.lock`;
  mkdirSync(cacheDirectory, { recursive: true });
  for (;;) {
    const cached = readGraph(path);
    if (cached) return cached;
    let descriptor: number;
    try {
      descriptor = openSync(lock, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (lockAgeMs(lock) > LOCK_STALE_MS) rmLock(lock);
      else sleep(LOCK_POLL_MS);
      continue;
    }
    try {
      const graph = build(kinds);
      const staging = `${path}.${process.pid}.tmp`;
      writeFileSync(staging, JSON.stringify(graph));
      renameSync(staging, path);
      return graph;
    } finally {
      closeSync(descriptor);
      rmLock(lock);
    }
  }
}

/** The TypeScript checker over the model packages' declarations, and the declared type of each kind. */
export interface KindsProgram {
  readonly ts: typeof import('typescript');
  readonly checker: import('typescript').TypeChecker;
  /** `apiVersion/kind` → its interface's type. */
  readonly rootTypes: ReadonlyMap<string, import('typescript').Type>;
}

/** A program of one file that imports the interface of each of `kinds` (nothing is emitted). */
export function kindsProgram(kinds: Readonly<Record<string, KindModel>>): KindsProgram {
  // Loaded here only: most processes read the cached graph and never load TypeScript.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require('typescript') as typeof import('typescript');
  const modelsRoot = dirname(require.resolve('kubernetes-models/package.json'));
  const entry = join(modelsRoot, '__unknown_field_check__.ts');
  const source = [
    ...Object.values(kinds).map((model, index) => `import type { ${model.interface} as T${index} } from '${model.module}';`),
    `export interface Kinds { ${Object.keys(kinds).map((key, index) => `'${key}': T${index};`).join(' ')} }`,
  ].join('\n');
  const options: import('typescript').CompilerOptions = {
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
  const checker = program.getTypeChecker();
  const kindsSymbol = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!).find((symbol) => symbol.name === 'Kinds')!;
  const rootTypes = new Map(checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(kindsSymbol)).map((property) => [property.name, checker.getTypeOfSymbol(property)] as const));
  return { ts, checker, rootTypes };
}

/** The graph of `kinds`, from the TypeScript checker's view of the model packages' declarations. */
export function buildFieldGraph(kinds: Readonly<Record<string, KindModel>>, program: KindsProgram = kindsProgram(kinds)): FieldGraph {
  const { ts, checker, rootTypes } = program;

  // Type 0: the leaf. Every other type gets an id when first reached, then its entry.
  const types: FieldType[] = [{}];
  const ids = new Map<import('typescript').Type, number>();
  const pending: [import('typescript').Type, number][] = [];
  const idOf = (type: import('typescript').Type): number => {
    let id = ids.get(type);
    if (id === undefined) {
      id = types.length;
      types.push({});
      ids.set(type, id);
      pending.push([type, id]);
    }
    return id;
  };
  const roots: Record<string, number> = {};
  for (const [kind, type] of rootTypes) roots[kind] = idOf(type);
  while (pending.length > 0) {
    const [type, id] = pending.pop()!;
    // What the walk of UnknownFieldChecker needs of a type: the union's members but undefined and null,
    // the element of its first array member, the properties and the string index of its object members.
    const candidates = (type.isUnion() ? type.types : [type]).filter((member) => !(member.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
    const arrays = candidates.filter((member) => checker.isArrayType(member));
    const objects = candidates.filter((member) => member.flags & ts.TypeFlags.Object && !checker.isArrayType(member));
    const entry: { element?: number; object?: true; fields?: Record<string, number>; index?: number } = {};
    if (arrays.length > 0) entry.element = idOf(checker.getTypeArguments(arrays[0] as import('typescript').TypeReference)[0]);
    if (objects.length > 0) {
      entry.object = true;
      const fields: Record<string, number> = {};
      for (const member of objects) {
        for (const property of checker.getPropertiesOfType(member)) {
          if (!Object.hasOwn(fields, property.name)) fields[property.name] = idOf(checker.getTypeOfSymbol(property));
        }
      }
      if (Object.keys(fields).length > 0) entry.fields = fields;
      const index = objects.map((member) => member.getStringIndexType()).find((indexType) => indexType !== undefined);
      if (index) entry.index = idOf(index);
    }
    types[id] = entry;
  }
  return { roots, types: collapseLeaves(roots, types) };
}

/** The graph with every type the walk does not descend into merged into type 0 (most of them: scalars). */
function collapseLeaves(roots: Record<string, number>, types: FieldType[]): FieldType[] {
  const isLeaf = (type: FieldType) => type.element === undefined && !type.object;
  const renumbered = new Map<number, number>([[0, 0]]);
  const kept: FieldType[] = [{}];
  types.forEach((type, id) => {
    if (id === 0) return;
    if (isLeaf(type)) renumbered.set(id, 0);
    else renumbered.set(id, kept.push(type) - 1);
  });
  const map = (id: number) => renumbered.get(id)!;
  for (const kind of Object.keys(roots)) roots[kind] = map(roots[kind]);
  return kept.map((type) => ({
    ...(type.element !== undefined ? { element: map(type.element) } : {}),
    ...(type.object ? { object: true as const } : {}),
    ...(type.fields ? { fields: Object.fromEntries(Object.entries(type.fields).map(([name, id]) => [name, map(id)])) } : {}),
    ...(type.index !== undefined ? { index: map(type.index) } : {}),
  }));
}

/** The cache file of the graph of `kinds`; its lock is this path with `.lock` appended. */
export function fieldGraphPath(kinds: Readonly<Record<string, KindModel>>, cacheDirectory = DEFAULT_CACHE_DIRECTORY): string {
  return join(cacheDirectory, `kubernetes-field-graph-${inputDigest(kinds)}.json`);
}

/** What the graph depends on: this module, the kinds, and the installed TypeScript and model packages. */
function inputDigest(kinds: Readonly<Record<string, KindModel>>): string {
  const hash = createHash('sha256').update(readFileSync(__filename)).update(JSON.stringify(kinds));
  const packages = new Set(['typescript', ...Object.values(kinds).map((model) => model.module.split('/').slice(0, model.module.startsWith('@') ? 2 : 1).join('/'))]);
  for (const name of [...packages].sort()) hash.update(`${name}@${(JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version}\n`);
  return hash.digest('hex').slice(0, 16);
}

function readGraph(path: string): FieldGraph | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const graph = JSON.parse(text) as FieldGraph;
  if (typeof graph.roots !== 'object' || !Array.isArray(graph.types)) throw new Error(`${path}: not a field graph; remove it`);
  return graph;
}

/** How long ago the lock was taken, by the file system's clock (a test may have faked Date). */
function lockAgeMs(lock: string): number {
  const now = `${lock}.now-${process.pid}`;
  writeFileSync(now, '');
  try {
    return statSync(now).mtimeMs - statSync(lock).mtimeMs;
  } catch {
    return 0; // gone: the next turn reads the graph or takes the lock
  } finally {
    unlinkSync(now);
  }
}

function rmLock(lock: string): void {
  try {
    unlinkSync(lock);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
