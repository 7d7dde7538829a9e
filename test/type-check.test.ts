import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runProcess } from './helpers/cli-process';
import { useTempDirectory } from './helpers/temp-directory';

/*
 * `npm test` type-checks with tsgo (TypeScript 7, @typescript/native-preview): on the 2-core machine
 * about 2 s where TypeScript 5.9's tsc takes about 10 s, cold. TypeScript 5.9 stays installed: editors,
 * `npx tsc`, jsii (cdk8s-cli) and the compiler API that test/k8s/kubernetes-field-graph.ts uses. So the
 * faster checker must hold the project to the same rules: here both check one file that breaks each
 * rule of tsconfig.json that matters, with the project's own options, and must report the same errors.
 */
const SCRIPTS: Record<string, string> = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).scripts;

/** One error per rule of the project's tsconfig.json, each on its own line. */
const RULE_BREAKER = [
  "export function count(): number { return 'three'; }", // strict types: TS2322
  'const unused = 1;', // noUnusedLocals: TS6133
  'export function implicit(value) { return value; }', // strict (noImplicitAny): TS7006
  'class Base { run(): void {} }',
  'export class Derived extends Base { run(): void {} }', // noImplicitOverride: TS4114
  'export function fallThrough(n: number): number { switch (n) { case 1: n++; case 2: return n; default: return 0; } }', // noFallthroughCasesInSwitch: TS7029
  'export function unusedParameter(a: number, b: number): number { return a; }', // noUnusedParameters: TS6133
  "import { Shape } from './shape';",
  'export { Shape };', // isolatedModules (what SWC needs): TS1205
  "import { missing } from './nowhere';", // module resolution: TS2307
  'export const used = missing;',
].join('\n');

/** `file(line,col): error TSnnnn` of each diagnostic, sorted (the two checkers word some messages differently). */
function errorCodes(output: string): string[] {
  return [...output.matchAll(/^(\S+\(\d+,\d+\)): error (TS\d+):/gm)].map((match) => `${match[1]} ${match[2]}`).sort();
}

describe('the type check of npm test', () => {
  const temp = useTempDirectory();

  it('npm test runs tsgo --noEmit before jest', () => {
    expect(SCRIPTS.test).toMatch(/^tsgo --noEmit( --tsBuildInfoFile \S+)? && jest /);
  });

  it('tsgo finds what tsc finds, under the project tsconfig.json', async () => {
    const directory = temp();
    writeFileSync(join(directory, 'broken.ts'), `${RULE_BREAKER}\n`);
    writeFileSync(join(directory, 'shape.ts'), 'export interface Shape { readonly sides: number }\n');
    // The project's compiler options; only the files, the node/jest types (not installed here) and the build info differ.
    writeFileSync(
      join(directory, 'tsconfig.json'),
      JSON.stringify({ extends: join(REPO_ROOT, 'tsconfig.json'), compilerOptions: { types: [], tsBuildInfoFile: join(directory, 'build.tsbuildinfo') }, include: ['*.ts'] }),
    );
    const [tsc, tsgo] = await Promise.all([
      runProcess(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', directory], { cwd: directory }),
      runProcess(process.execPath, [join(REPO_ROOT, 'node_modules', '@typescript', 'native-preview', 'bin', 'tsgo'), '--noEmit', '-p', directory], { cwd: directory }),
    ]);
    const expected = ['(1,35) TS2322', '(2,7) TS6133', '(3,26) TS7006', '(5,37) TS4114', '(6,63) TS7029', '(7,44) TS6133', '(9,10) TS1205', '(10,25) TS2307'].map((at) => `broken.ts${at}`);
    expect({ code: tsc.code, errors: errorCodes(tsc.stdout) }).toEqual({ code: 2, errors: expected.sort() });
    expect({ code: tsgo.code, errors: errorCodes(tsgo.stdout) }).toEqual({ code: expect.any(Number), errors: errorCodes(tsc.stdout) });
    expect(tsgo.code).not.toBe(0);
  });
});
