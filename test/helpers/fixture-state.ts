import { chmodSync, cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { SigstoreConfig } from '../../lib/config/schema';
import { readPkiMaterial, type PkiMaterial } from '../../lib/pki/state-items';
import { StateStore } from '../../lib/state/store';
import { configFromYaml, fixedClock } from './config';

/** Environment name of the committed fixture state (test/fixtures/state/test/). */
export const FIXTURE_ENV = 'test';
/** The clock the fixture state was minted with. */
export const FIXTURE_CLOCK = fixedClock('2026-01-01T00:00:00Z');
/**
 * A wall time for in-process tests that run commands reading the wall clock on the fixture state
 * (set it with setWallClock, test/helpers/fake-date.ts): half a year after the mint, when the TUF
 * timestamp, snapshot and targets v1 have expired (14, 60, 180 days) and the root v1 (1 year) has
 * not, and every certificate is far from its notAfter (the TSA leaf, 2028-01-01, the earliest).
 * Tests that use the real wall clock on the fixture fail once it nears those dates.
 */
export const FIXTURE_WALL_TIME = '2026-07-01T00:00:00Z';

const FIXTURE_ROOT = join(__dirname, '..', 'fixtures', 'state');

/** The configuration the fixture state belongs to; `extraYaml` adds fields (e.g. hostnames). */
export function fixtureConfig(extraYaml = ''): SigstoreConfig {
  return configFromYaml(`organization: Test Org\nsigner: local\n${extraYaml}`, FIXTURE_ENV);
}

/**
 * Copies the fixture state into `directory` (as its state root, with the 0700/0600 modes git does
 * not keep) and returns the state root. Tests may then mutate the copy freely.
 */
export function copyFixtureState(directory: string): string {
  const stateRoot = join(directory, '.sigstore');
  cpSync(join(FIXTURE_ROOT, FIXTURE_ENV), join(stateRoot, FIXTURE_ENV), { recursive: true });
  restrictModes(stateRoot);
  return stateRoot;
}

/** The verified fixture material (read from a private copy of the fixture state). */
export async function fixtureMaterial(directory: string): Promise<PkiMaterial> {
  const store = new StateStore({ root: copyFixtureState(directory), env: FIXTURE_ENV });
  return readPkiMaterial(await store.load());
}

function restrictModes(path: string): void {
  if (statSync(path).isDirectory()) {
    chmodSync(path, 0o700);
    for (const name of readdirSync(path)) restrictModes(join(path, name));
  } else {
    chmodSync(path, 0o600);
  }
}
