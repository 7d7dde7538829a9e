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
