import { TRUST_DIRECTORY, type OutputFile } from '../trust-outputs';
import type { TufRepository } from './repository';

/** Where the repository goes in `dist/`: the TUF server serves this directory as its document root. */
export const TUF_OUTPUT_DIRECTORY = `${TRUST_DIRECTORY}/tuf`;

/**
 * The published repository, as files for `dist/trust/tuf/` (or for the TUF server's volume): every
 * `N.root.json`, `N.targets.json` and `N.snapshot.json`, `timestamp.json`, `targets/<sha256>.<name>`,
 * and `root.json`, a copy of the newest root (what `cosign initialize --root` and a health check
 * fetch; clients themselves start from a trusted `1.root.json` and walk the versions). The bytes are
 * the state's, unchanged: nothing is signed here.
 */
export function tufOutputFiles(repository: TufRepository): OutputFile[] {
  const newestRoot = `${repository.root.signed.version}.root.json`;
  const files = [...repository.files.entries()].sort(([a], [b]) => a.localeCompare(b));
  const rootBytes = repository.files.get(newestRoot);
  if (!rootBytes) throw new Error(`the TUF repository has no ${newestRoot}`);
  return [...files, ['root.json', rootBytes] as const].map(([path, bytes]) => ({
    path: `${TUF_OUTPUT_DIRECTORY}/${path}`,
    content: bytes.toString('utf8'),
  }));
}
