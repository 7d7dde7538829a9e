import type { Metafile } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './temp-project';

/**
 * What a program's bundle evaluates at start, read from the module graph of the bundles as
 * scripts/build.js builds them: the metafile the current build wrote (bin/compiled/metafile.json;
 * test/global-setup.ts builds before a run when the build is stale). A module runs at start when an import
 * that runs at start reaches it: an `import` statement does; a dynamic `import()` does not; a
 * `require(…)` in the project's code does when it is a top-level statement (column 0:
 * `const x = require(…)`), not when it sits inside a function (indented, or after `=>` or
 * `function` on its line: the lazy loads of lib/cli/main.ts, lib/otc/kms-connection.ts,
 * lib/pki/minting.ts). In node_modules every require
 * counts (most sit at a package's top level: conservative).
 */
export interface StartupGraph {
  /** Every source path in the bundles, relative to the project root (node_modules/… for packages). */
  readonly bundled: ReadonlySet<string>;
  /** The source paths in the bundle of one entry point (e.g. bin/sigstore-cdk.ts), as `bundled`. */
  bundledBy(entry: string): ReadonlySet<string>;
  /** The bytes each source path puts into the bundle of one entry point (0 for a module tree-shaken away). */
  bytesInBundle(entry: string): ReadonlyMap<string, number>;
  /** The modules evaluated when `from` (an entry point such as bin/sigstore-cdk.ts, or any module) is, each with the module that imported it. */
  reachedFrom(from: string): ReadonlyMap<string, string | undefined>;
  /** The chain of imports from `from` to `path`, as `a → b → c` (packages' inner modules left out). */
  chain(from: string, path: string): string;
}

let graph: Promise<StartupGraph> | undefined;

/** The module graph of all entry points of scripts/build.js, built once per test file. */
export function startupGraph(): Promise<StartupGraph> {
  graph ??= buildGraph();
  return graph;
}

interface BuildScript {
  staleBuild: () => string | undefined;
  METAFILE: string;
  OUT: string;
}

/** The metafile of the current build in bin/compiled/, or undefined when the build is stale or wrote none (or another build's). */
export function writtenMetafile(build: BuildScript): Metafile | undefined {
  if (build.staleBuild() !== undefined) return undefined;
  try {
    const { buildId } = JSON.parse(readFileSync(join(build.OUT, 'build-inputs.json'), 'utf8')) as { buildId?: string };
    const written = JSON.parse(readFileSync(join(build.OUT, build.METAFILE), 'utf8')) as Metafile & { buildId?: string };
    return written.buildId !== undefined && written.buildId === buildId ? written : undefined;
  } catch {
    return undefined;
  }
}

async function buildGraph(): Promise<StartupGraph> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const build = require(join(REPO_ROOT, 'scripts', 'build.js')) as BuildScript;
  const metafile = writtenMetafile(build);
  // A graph of other sources than the bundles the tests run would check the wrong thing.
  if (metafile === undefined) throw new Error(`${join(build.OUT, build.METAFILE)} is missing, or not the current build's: run npm run build`);
  const inputs = normalizedInputs(metafile);
  const sources = new Map<string, string>();
  const sourceOf = (path: string) => {
    if (!sources.has(path)) sources.set(path, readFileSync(join(REPO_ROOT, path), 'utf8'));
    return sources.get(path)!;
  };
  const reached = new Map<string, Map<string, string | undefined>>();
  const reachedFrom = (from: string) => {
    let modules = reached.get(from);
    if (modules) return modules;
    modules = new Map<string, string | undefined>([[from, undefined]]);
    const queue = [from];
    while (queue.length > 0) {
      const importer = queue.shift()!;
      const ownCode = !importer.startsWith('node_modules/');
      for (const edge of inputs.get(importer) ?? []) {
        if (edge.external || edge.kind === 'dynamic-import') continue;
        if (ownCode && edge.kind === 'require-call') {
          const calls = [`require('${edge.original}')`, `require("${edge.original}")`];
          const topLevel = sourceOf(importer)
            .split('\n')
            .some((line) => /^\S/.test(line) && calls.some((call) => line.includes(call) && !/=>|\bfunction\b/.test(line.slice(0, line.indexOf(call)))));
          if (!topLevel) continue;
        }
        if (!modules.has(edge.path)) {
          modules.set(edge.path, importer);
          queue.push(edge.path);
        }
      }
    }
    reached.set(from, modules);
    return modules;
  };
  const byEntry = new Map<string, Set<string>>();
  const bytesByEntry = new Map<string, Map<string, number>>();
  for (const output of Object.values(metafile.outputs)) {
    if (!output.entryPoint) continue;
    byEntry.set(output.entryPoint, new Set(Object.keys(output.inputs).map(normalizedPath)));
    bytesByEntry.set(output.entryPoint, new Map(Object.entries(output.inputs).map(([path, input]) => [normalizedPath(path), input.bytesInOutput])));
  }
  return {
    bundled: new Set(inputs.keys()),
    bundledBy(entry) {
      const paths = byEntry.get(entry);
      if (!paths) throw new Error(`no bundle has the entry point ${entry} (entry points: ${[...byEntry.keys()].join(', ')})`);
      return paths;
    },
    bytesInBundle(entry) {
      const bytes = bytesByEntry.get(entry);
      if (!bytes) throw new Error(`no bundle has the entry point ${entry} (entry points: ${[...bytesByEntry.keys()].join(', ')})`);
      return bytes;
    },
    reachedFrom,
    chain(from, path) {
      const modules = reachedFrom(from);
      const links: string[] = [];
      for (let at: string | undefined = path; at !== undefined; at = modules.get(at)) {
        if (at === path || !at.startsWith('node_modules/')) links.unshift(at);
      }
      return links.join(' → ');
    },
  };
}

type Edge = Metafile['inputs'][string]['imports'][number];

/** The metafile's inputs with paths relative to the project root: `../../main/node_modules/x` (a worktree sharing node_modules) becomes `node_modules/x`. */
function normalizedInputs(metafile: Metafile): Map<string, Edge[]> {
  return new Map(Object.entries(metafile.inputs).map(([path, input]) => [normalizedPath(path), input.imports.map((edge) => ({ ...edge, path: normalizedPath(edge.path) }))]));
}

function normalizedPath(path: string): string {
  const index = path.indexOf('node_modules/');
  return index > 0 ? path.slice(index) : path;
}
