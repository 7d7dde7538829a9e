import { TRUST_DIRECTORY, type OutputFile } from '../trust-outputs';
import type { TufRepository } from './repository';
import { compareEntryKeys } from '../../code-unit-order';

/** Where the repository goes in `dist/`: the TUF server serves this directory as its document root. */
export const TUF_OUTPUT_DIRECTORY = `${TRUST_DIRECTORY}/tuf`;

/**
 * The published repository as files relative to its document root, for the TUF server's volume:
 * every `N.root.json`, `N.targets.json` and `N.snapshot.json`, `timestamp.json`,
 * `targets/<sha256>.<name>`, and `root.json`, a copy of the newest root (what `cosign initialize
 * --root` users download first and a health check can fetch; clients themselves start from a trusted
 * `1.root.json` and walk the versions). The bytes are the state's, unchanged: nothing is signed here.
 */
export function tufRepositoryFiles(repository: TufRepository): OutputFile[] {
  const newestRoot = `${repository.root.signed.version}.root.json`;
  const rootBytes = repository.files.get(newestRoot);
  if (!rootBytes) throw new Error(`the TUF repository has no ${newestRoot}`);
  const files = [...repository.files.entries()].sort(compareEntryKeys);
  return [...files, ['root.json', rootBytes] as const].map(([path, bytes]) => ({ path, content: bytes.toString('utf8') }));
}

/** The same files under `dist/trust/tuf/`. */
export function tufOutputFiles(repository: TufRepository): OutputFile[] {
  return tufRepositoryFiles(repository).map((file) => ({ path: `${TUF_OUTPUT_DIRECTORY}/${file.path}`, content: file.content }));
}
