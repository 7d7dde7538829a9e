import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';
import { useTempDirectory } from './helpers/temp-directory';

// Installed by jest's runtime (code-cache.js, required below, installs nothing).
const installedByJest = (vm as unknown as Record<symbol, unknown>)[Symbol.for('sigstore-cdk.jest-code-cache')];
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jestConfig = require('../jest.config.js') as { runtime?: string };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const codeCache = require('./suites/code-cache.js') as {
  CACHE_DIRECTORY: string;
  codeCachedCompile: (compile: typeof vm.compileFunction, directory: string) => typeof vm.compileFunction;
  pruneCodeCache: (directory: string, limit: number) => boolean;
};

type Compiled = ReturnType<typeof vm.compileFunction> & { cachedDataRejected?: boolean };

/** vm.compileFunction, recording the options of each call. */
function recordingCompile() {
  const calls: vm.CompileFunctionOptions[] = [];
  const compile = ((code: string, params?: readonly string[], options: vm.CompileFunctionOptions = {}) => {
    calls.push(options);
    return vm.compileFunction(code, params, options);
  }) as typeof vm.compileFunction;
  return { calls, compile };
}

const MODULE = 'exports.answer = function answer(x) { return x * 2; }(21);';

describe("jest's code cache (test/suites/code-cache.js, installed by code-cache-runtime.js)", () => {
  const temp = useTempDirectory();

  it('is the runtime of every jest run, and holds the modules compiled so far', () => {
    expect(jestConfig.runtime).toBe('<rootDir>/test/suites/code-cache-runtime.js');
    // jest-runner reads the class as `default`: jest-runtime's own.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(require('./suites/code-cache-runtime.js').default).toBe(require('jest-runtime').default);
    // Installed in this worker's vm module (the one jest-runtime compiles with), and this file was compiled through it.
    expect(installedByJest).toBe(true);
    expect(readdirSync(codeCache.CACHE_DIRECTORY).filter((name) => name.endsWith('.v8cache')).length).toBeGreaterThan(0);
  });

  it('writes a cache at the first compilation of a source and reads it at the next; a module runs the same either way', () => {
    const directory = join(temp(), 'cache');
    const { calls, compile } = recordingCompile();
    const cached = codeCache.codeCachedCompile(compile, directory);
    const run = (fn: Compiled) => {
      const module = { exports: {} as Record<string, unknown> };
      fn(module.exports, module);
      return module.exports.answer;
    };
    const options = () => ({ filename: '/project/lib/answer.js', parsingContext: vm.createContext({}) });

    expect(run(cached(MODULE, ['exports', 'module'], options()))).toBe(42);
    expect(calls.map((call) => ({ produce: call.produceCachedData, read: call.cachedData !== undefined }))).toEqual([{ produce: true, read: false }]);
    expect(readdirSync(directory)).toEqual([expect.stringMatching(/^[0-9a-f]{40}\.v8cache$/)]);

    const again = cached(MODULE, ['exports', 'module'], options()) as Compiled;
    expect(calls[1].cachedData).toEqual(readFileSync(join(directory, readdirSync(directory)[0])));
    expect(again.cachedDataRejected).toBe(false);
    expect(run(again)).toBe(42);

    // Another source under the same name is another entry; other parameters too.
    cached(MODULE.replace('* 2', '* 3'), ['exports', 'module'], options());
    cached(MODULE, ['exports', 'module', 'require'], options());
    expect(readdirSync(directory)).toHaveLength(3);
  });

  it('compiles again and rewrites a cache V8 rejects (damaged, or of another V8)', () => {
    const directory = join(temp(), 'cache');
    const { calls, compile } = recordingCompile();
    const cached = codeCache.codeCachedCompile(compile, directory);
    const options = () => ({ filename: '/project/lib/answer.js', parsingContext: vm.createContext({}) });
    cached(MODULE, ['exports', 'module'], options());
    const [entry] = readdirSync(directory);
    writeFileSync(join(directory, entry), Buffer.alloc(64, 0x5a));

    const module = { exports: {} as Record<string, unknown> };
    cached(MODULE, ['exports', 'module'], options())(module.exports, module);
    expect(module.exports.answer).toBe(42);
    expect(calls.slice(1).map((call) => ({ produce: call.produceCachedData, read: call.cachedData !== undefined }))).toEqual([
      { produce: undefined, read: true },
      { produce: true, read: false },
    ]);
    expect(readFileSync(join(directory, entry)).equals(Buffer.alloc(64, 0x5a))).toBe(false);
    expect(readdirSync(directory)).toEqual([entry]);
  });

  it('leaves compilations that are not a module of a test context alone', () => {
    const directory = join(temp(), 'cache');
    const { calls, compile } = recordingCompile();
    const cached = codeCache.codeCachedCompile(compile, directory);
    cached('return 1', [], {});
    cached('return 1', [], { filename: 'relative.js', parsingContext: vm.createContext({}) });
    expect(calls).toEqual([{}, { filename: 'relative.js', parsingContext: expect.anything() }]);
    expect(() => readdirSync(directory)).toThrow(/ENOENT/);
  });

  it('is emptied once it grows past its limit, and kept below it', () => {
    const directory = join(temp(), 'cache');
    mkdirSync(directory);
    writeFileSync(join(directory, 'a.v8cache'), Buffer.alloc(600));
    expect(codeCache.pruneCodeCache(directory, 1000)).toBe(false);
    expect(readdirSync(directory)).toEqual(['a.v8cache']);
    writeFileSync(join(directory, 'b.v8cache'), Buffer.alloc(600));
    expect(codeCache.pruneCodeCache(directory, 1000)).toBe(true);
    expect(() => readdirSync(directory)).toThrow(/ENOENT/);
    expect(codeCache.pruneCodeCache(directory, 1000)).toBe(false);
  });
});
