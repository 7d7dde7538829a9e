import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as errors from '../../lib/errors';
import { fileSystemError } from '../../lib/fs-errors';

/**
 * The README's exit-code table is the contract scripts rely on: every error code the code defines
 * must be listed in the row of the exit code it actually produces.
 */
const ROOT = join(__dirname, '..', '..');

/** Each row of the README table: exit code → the code patterns it lists (`STATE_*` or a name). */
function readmeExitTable(): Map<number, string[]> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const rows = new Map<number, string[]>();
  for (const line of readme.split('\n')) {
    const match = /^\| `(\d)` \| [^|]+\|\s*([^|]*?)\s*\|$/.exec(line);
    if (match) rows.set(Number(match[1]), [...match[2].matchAll(/`([A-Z_*]+)`/g)].map((code) => code[1]));
  }
  return rows;
}

/** Every `'CODE'` literal of every `export type <Class>Code = …;` union in lib/errors.ts, by class name. */
function definedCodes(): { className: string; code: string }[] {
  const source = readFileSync(join(ROOT, 'lib', 'errors.ts'), 'utf8');
  return [...source.matchAll(/export type (\w+)ErrorCode =([\s\S]*?);/g)].flatMap(([, name, body]) =>
    [...body.replace(/\/\*\*[\s\S]*?\*\//g, '').matchAll(/'([A-Z0-9_]+)'/g)].map(([, code]) => ({ className: `${name}Error`, code })),
  );
}

/** The exit code an error with `code` gets, made the way the code makes it. */
function exitCodeOf(className: string, code: string): number[] {
  if (className === 'FileSystemError') {
    // Its exit code depends on where the call failed: an output directory, or anywhere else.
    const errnoFor: Record<string, string> = {
      FS_NOT_A_DIRECTORY: 'ENOTDIR',
      FS_READ_ONLY: 'EROFS',
      FS_PERMISSION_DENIED: 'EACCES',
      FS_NAME_TOO_LONG: 'ENAMETOOLONG',
      FS_NO_SPACE: 'ENOSPC',
      FS_IO_ERROR: 'EIO',
    };
    const errno = Object.assign(new Error(`${errnoFor[code]}: failed`), { code: errnoFor[code], path: '/x', syscall: 'open' });
    return (['output', 'unknown'] as const).map((kind) => {
      const mapped = fileSystemError(errno, { kind, operation: 'write', path: '/x' }) as errors.FileSystemError;
      expect(mapped.code).toBe(code);
      return mapped.exitCode;
    });
  }
  const ErrorClass = (errors as unknown as Record<string, new (code: string, message: string) => errors.SigstoreCdkError>)[className];
  expect(ErrorClass).toBeDefined();
  return [new ErrorClass(code, 'message').exitCode];
}

function listedUnder(patterns: readonly string[], code: string): boolean {
  return patterns.some((pattern) => (pattern.endsWith('*') ? code.startsWith(pattern.slice(0, -1)) : code === pattern));
}

describe('the README exit-code table', () => {
  const table = readmeExitTable();
  const codes = definedCodes();

  it('has a row for every exit code the CLI uses', () => {
    expect([...table.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(codes.length).toBeGreaterThan(50);
  });

  it.each(definedCodes())('lists $code ($className) under the exit code it produces', ({ className, code }) => {
    for (const exitCode of exitCodeOf(className, code)) {
      const rows = [...table.entries()].filter(([, patterns]) => listedUnder(patterns, code)).map(([exit]) => exit);
      // A code may be listed under several rows only when it can produce each of them.
      expect(rows).toContain(exitCode);
    }
  });

  it('names no code the code does not define (a pattern matches at least one)', () => {
    for (const patterns of table.values()) {
      for (const pattern of patterns) expect(codes.some(({ code }) => listedUnder([pattern], code))).toBe(true);
    }
  });
});
