/**
 * Builds bin/compiled/ once before the workers start, when it is missing or older than its sources,
 * so the many CLI processes the tests spawn never race to rebuild it (bin/launch.js would). Empties
 * jest's code cache (test/suites/code-cache.js) when edits have grown it past its limit.
 */
export default async function globalSetup(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { pruneCodeCache } = require('./suites/code-cache.js') as { pruneCodeCache: () => boolean };
  if (pruneCodeCache()) process.stderr.write('\njest: emptied node_modules/.cache/sigstore-cdk/jest-code-cache (past its size limit)\n');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { build, staleBuild } = require('../scripts/build.js') as { build: (options: { quiet: boolean }) => Promise<void>; staleBuild: () => string | undefined };
  const stale = staleBuild();
  if (stale === undefined) return;
  process.stderr.write(`\njest: ${stale}; building bin/compiled/ first\n`);
  await build({ quiet: true });
}
