import { join } from 'node:path';
import { bootstrap } from '../../lib/pki/bootstrap';
import { LocalRootKeys } from '../../lib/pki/root-keys';
import { StateStore } from '../../lib/state/store';
import { mintBeyondPki } from '../../lib/synth';
import { FIXTURE_ENV, fixtureConfig } from './fixture-state';

export interface AgedStateOptions {
  /** How long before the wall clock the state is minted. @default 300 days */
  readonly ageMs?: number;
}

/**
 * About the committed fixture's age in December 2026, when the tests that use this were written
 * against it: the TUF timestamp (14 days), snapshot (60 days) and targets (180 days) v1 have expired,
 * the root v1 (1 year) is inside its 90-day refresh window, and every certificate is far from its
 * notAfter (the TSA leaf, 2 years, the shortest) and from its renewal window.
 */
const DEFAULT_AGE_MS = 300 * 24 * 60 * 60 * 1000;

/**
 * Mints into `directory`/.sigstore/ what test/fixtures/generate-fixture-state.ts mints (the fixture's
 * configuration, environment `test`, local signer, TUF repository, service passwords, ceremony log),
 * but `ageMs` before the wall clock instead of at 2026-01-01, and returns the state root.
 *
 * For tests that run the CLI as a process on "the fixture state": the process reads the wall clock
 * (the CLI takes no clock), so on the committed fixture they would fail once its certificates near
 * their notAfter (the TSA leaf, 2028-01-01) although no code changed. This state has the fixture's
 * shape at any wall time (see DEFAULT_AGE_MS). Not for snapshots: keys and times differ on every run.
 */
export async function mintAgedFixtureState(directory: string, options: AgedStateOptions = {}): Promise<string> {
  const stateRoot = join(directory, '.sigstore');
  const mintedAt = new Date(Date.now() - (options.ageMs ?? DEFAULT_AGE_MS));
  const config = fixtureConfig();
  await bootstrap({
    config,
    store: new StateStore({ root: stateRoot, env: FIXTURE_ENV }),
    rootKeys: new LocalRootKeys(),
    clock: () => mintedAt,
    operator: 'fixture',
    extend: mintBeyondPki(config),
  });
  return stateRoot;
}
