import { FileSystemError, StateError } from '../../lib/errors';
import { explainFileSystemError, fileSystemError, unmappedFileSystemError, type FileSystemContext } from '../../lib/fs-errors';

/**
 * The one place that turns a failed `node:fs` call into a typed error. The errors here are synthetic
 * (an Error with the errno fields node sets): ENOSPC, EIO and friends cannot be produced on demand
 * without mounts; test/cli/filesystem-errors.test.ts makes the real ones where the machine allows.
 */
function errno(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: synthetic, ${syscall}${path ? ` '${path}'` : ''}`), { code, syscall, ...(path ? { path } : {}) });
}

const STATE: FileSystemContext = { kind: 'state', operation: 'write the state', path: '.sigstore/dev', argument: { option: '--state-dir', value: '.sigstore' } };
const OUTPUT: FileSystemContext = { kind: 'output', operation: 'write the output', path: 'dist', argument: { option: '--out', value: 'dist' } };

describe('fileSystemError', () => {
  it.each([
    ['EROFS', 'STATE_READ_ONLY', /read-only file system \(EROFS at \.sigstore\/\.dev\.staging-1\)\. Commands that only read the state/],
    ['EACCES', 'STATE_PERMISSION_DENIED', /permission denied \(EACCES at \.sigstore\/\.dev\.staging-1\)\. Run as the user that owns the state/],
    ['EPERM', 'STATE_PERMISSION_DENIED', /operation not permitted/],
    ['ENOSPC', 'STATE_NO_SPACE', /no space left on the device \(ENOSPC at \.sigstore\/\.dev\.staging-1\)\. Free space on that file system and run again; the previous state is intact/],
    ['EDQUOT', 'STATE_NO_SPACE', /disk quota exceeded/],
    ['EIO', 'STATE_IO_ERROR', /input\/output error/],
    ['EMFILE', 'STATE_IO_ERROR', /too many open files/],
    ['EWHATEVER', 'STATE_IO_ERROR', /synthetic \(EWHATEVER/],
  ])('on the state, %s is %s (exit 3), naming the operation, the path and what to do', (code, expected, message) => {
    const error = fileSystemError(errno(code, 'open', '.sigstore/.dev.staging-1'), STATE);
    expect(error).toBeInstanceOf(StateError);
    expect(error).toMatchObject({ code: expected, exitCode: 3, message: expect.stringMatching(/^cannot write the state \.sigstore\/dev: /) });
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('names the directory alone when node gives no path (a write that ran out of space)', () => {
    expect(fileSystemError(errno('ENOSPC', 'write'), STATE)).toMatchObject({
      code: 'STATE_NO_SPACE',
      message: expect.stringMatching(/^cannot write the state \.sigstore\/dev: no space left on the device \(ENOSPC\)\. /),
    });
  });

  it('a file given where a directory belongs (the option or a parent of it) is a bad argument: exit 2', () => {
    for (const error of [errno('EEXIST', 'mkdir', '.sigstore'), errno('ENOTDIR', 'mkdir', '.sigstore')]) {
      expect(fileSystemError(error, STATE)).toMatchObject({
        code: 'FS_NOT_A_DIRECTORY',
        exitCode: 2,
        message: expect.stringContaining('.sigstore is a file, not a directory: pass a directory as --state-dir (given: .sigstore)'),
      });
    }
  });

  it('a file inside the state, where a directory belongs, is a state problem: exit 3', () => {
    expect(fileSystemError(errno('ENOTDIR', 'mkdir', '.sigstore/dev/fulcio'), STATE)).toMatchObject({
      code: 'STATE_IO_ERROR',
      exitCode: 3,
      message: expect.stringContaining('.sigstore/dev/fulcio is a file, not a directory: move it aside'),
    });
  });

  it.each([
    ['EROFS', 'FS_READ_ONLY', 2, 'Choose an output directory (--out) on a writable file system'],
    ['EACCES', 'FS_PERMISSION_DENIED', 2, 'Choose an output directory (--out) this user can write'],
    ['ENOSPC', 'FS_NO_SPACE', 1, 'the previous output is intact'],
    ['ENAMETOOLONG', 'FS_NAME_TOO_LONG', 2, 'use a shorter one (--out)'],
  ])('on an output directory, %s is %s (exit %d)', (code, expected, exitCode, advice) => {
    const error = fileSystemError(errno(code, 'mkdir', 'dist'), OUTPUT);
    expect(error).toBeInstanceOf(FileSystemError);
    expect(error).toMatchObject({ code: expected, exitCode, details: { path: 'dist', errno: code } });
    expect((error as Error).message).toContain(advice);
  });

  it('leaves typed errors and errors that are not from the file system as they are', () => {
    const typed = new StateError('STATE_CORRUPT', 'x');
    expect(fileSystemError(typed, STATE)).toBe(typed);
    const plain = new Error('not a file system error');
    expect(fileSystemError(plain, STATE)).toBe(plain);
    expect(fileSystemError('a string', STATE)).toBe('a string');
  });
});

describe('explainFileSystemError', () => {
  it('reports the file in the way for ENOTDIR, which node reports for the whole path', async () => {
    const error = await explainFileSystemError(errno('ENOTDIR', 'scandir', `${__filename}/dev`), {
      ...STATE,
      path: `${__filename}/dev`,
      argument: { option: '--state-dir', value: __filename },
    });
    expect(error).toMatchObject({ code: 'FS_NOT_A_DIRECTORY', exitCode: 2, message: expect.stringContaining(`${__filename} is a file, not a directory`) });
  });
});

describe('unmappedFileSystemError (the CLI last resort)', () => {
  it('turns an errno error no command mapped into one typed line with the call, the path and the errno', () => {
    expect(unmappedFileSystemError(errno('EACCES', 'open', '/somewhere/file'))).toMatchObject({
      code: 'FS_PERMISSION_DENIED',
      exitCode: 1,
      message: 'cannot open /somewhere/file: permission denied (EACCES). Check the path and its permissions, then run again',
    });
    expect(unmappedFileSystemError(errno('ENOSPC', 'write'))).toMatchObject({ code: 'FS_NO_SPACE', exitCode: 1, message: expect.stringContaining('Free space') });
    expect(unmappedFileSystemError(new Error('a bug'))).toBeUndefined();
    expect(unmappedFileSystemError(new StateError('STATE_CORRUPT', 'x'))).toBeUndefined();
  });
});
