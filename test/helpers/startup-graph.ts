import type { Metafile } from 'esbuild';
import { join } from 'node:path';
import { REPO_ROOT } from './temp-project';

/**
 * What a program's bundle evaluates at start: the modules reachable from its entry point through
 * static imports (and, inside packages, `require` calls). A `require()` in a function of lib/ (the
 * lazy loading of lib/cli/main.ts and lib/otc/kms-connection.ts) is not followed: esbuild keeps such
 * a module unevaluated until the call.
 * Built with the bundles' own esbuild options (scripts/build.js), in memory.
 */
export interface StartupGraph {
  /** Source paths relative to the project root (node_modules/… for packages), evaluated at start. */
  readonly atStart: ReadonlySet<string>;
  /** Every source path in the bundle. */
  readonly bundled: ReadonlySet<string>;
}

const graphs = new Map<string, Promise<StartupGraph>>();

/** The startup graph of `entry` (a key of scripts/build.js's entry points: sigstore-cdk, k8s, cloud), built once per test file. */
export function startupGraph(entry: string): Promise<StartupGraph> {
  let graph = graphs.get(entry);
  if (!graph) {
    graph = buildGraph(entry);
    graphs.set(entry, graph);
  }
  return graph;
}

async function buildGraph(entry: string): Promise<StartupGraph> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { bundleOptions } = require(join(REPO_ROOT, 'scripts', 'build.js')) as { bundleOptions: () => import('esbuild').BuildOptions & { entryPoints: Record<string, string> } };
  const options = bundleOptions();
  const source = options.entryPoints[entry];
  if (!source) throw new Error(`scripts/build.js has no entry point ${entry}`);
  const result = await esbuild.build({ ...options, entryPoints: { [entry]: source }, outdir: join(REPO_ROOT, 'bin', '.graph'), write: false, metafile: true, logLevel: 'silent' });
  return { atStart: staticClosure(result.metafile, normalize(source)), bundled: new Set(Object.keys(result.metafile.inputs).map(normalize)) };
}

function staticClosure(metafile: Metafile, entry: string): Set<string> {
  const inputs = new Map(Object.entries(metafile.inputs).map(([path, input]) => [normalize(path), input]));
  const seen = new Set<string>();
  const pending = [entry];
  while (pending.length) {
    const path = pending.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const inPackage = path.startsWith('node_modules/');
    for (const imported of inputs.get(path)?.imports ?? []) {
      if (imported.external) continue;
      // A package's `require` calls are taken as evaluated at start (most sit at its top level);
      // lib/ requires only inside functions, to load a module on first use.
      if (imported.kind === 'import-statement' || (inPackage && imported.kind === 'require-call')) pending.push(normalize(imported.path));
    }
  }
  return seen;
}

/** `../../main/node_modules/x` (a worktree sharing node_modules) and `node_modules/x` alike. */
function normalize(path: string): string {
  const index = path.indexOf('node_modules/');
  return index > 0 ? path.slice(index) : path;
}
