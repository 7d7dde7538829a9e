/**
 * Builds bin/compiled/ once before the workers start, when it is missing or older than its sources,
 * so the many CLI processes the tests spawn never race to rebuild it (bin/launch.js would).
 */
export default async function globalSetup(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { staleReason } = require('../bin/launch.js') as { staleReason: (name: string) => string | undefined };
  const stale = ['sigstore-cdk', 'k8s', 'cloud'].map(staleReason).find((reason) => reason !== undefined);
  if (stale === undefined) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { build } = require('../scripts/build.js') as { build: (options: { quiet: boolean }) => Promise<void> };
  process.stderr.write(`\njest: ${stale}; building bin/compiled/ first\n`);
  await build({ quiet: true });
}
