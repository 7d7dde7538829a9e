import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkCustody } from '../custody/check-custody';
import { withFileSystemErrors } from '../fs-errors';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './atomic';
import { StateStore } from './store';

/** Writes `files` to a private directory beside the state and loads it there: every check of a state, before the working copy is replaced. */
export async function verifyElsewhere(stateRoot: string, env: string, files: ReadonlyMap<string, Buffer>): Promise<void> {
  await fs.mkdir(stateRoot, { recursive: true, mode: PRIVATE_DIR_MODE });
  const scratch = await fs.mkdtemp(join(stateRoot, `.verify-${env}-`));
  try {
    await withFileSystemErrors({ kind: 'state', operation: 'verify the incoming state in', path: scratch }, async () => {
      const directory = join(scratch, env);
      await fs.mkdir(directory, { mode: PRIVATE_DIR_MODE });
      for (const [path, bytes] of files) {
        await fs.mkdir(dirname(join(directory, path)), { recursive: true, mode: PRIVATE_DIR_MODE });
        await fs.writeFile(join(directory, path), bytes, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
      }
    });
    const store = new StateStore({ root: scratch, env });
    const snapshot = await store.load();
    await checkCustody(snapshot, store.directory);
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

