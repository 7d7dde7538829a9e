import type { SigstoreConfig } from './config/schema';
import { readPkiMaterial } from './pki/state-items';
import { StateStore } from './state/store';
import type { StateLocation } from './synth';
import type { RoleExpiry } from './trust/tuf/expiry';
import { readTufRepository } from './trust/tuf/repository';
import { verifyTufRepository } from './trust/tuf/verify-repository';

export interface VerifyResult {
  readonly env: string;
  /** True when nothing failed (warnings allowed). */
  readonly ok: boolean;
  /** What fails clients now: an expired role, stale targets, a bad signature or hash. */
  readonly problems: readonly string[];
  /** What needs a refresh soon. */
  readonly warnings: readonly string[];
  readonly tuf: { readonly expiry: readonly RoleExpiry[]; readonly targetsCurrent: boolean };
}

/**
 * `sigstore-cdk verify`: loads the state (which checks every file against the manifest, and keys,
 * certificates and chains against each other), then checks the TUF repository as a client would:
 * signatures along the root chain and of every role, hashes, expiry at `clock()` and whether the
 * targets still match the trust material. Reads only, without the lock: it works on a read-only state.
 */
export async function runVerify(options: StateLocation & { config: SigstoreConfig }): Promise<VerifyResult> {
  const { config } = options;
  const store = new StateStore({ root: options.stateRoot, env: config.env });
  const now = (options.clock ?? (() => new Date()))();
  const snapshot = await store.load();
  const material = await readPkiMaterial(snapshot);
  const check = await verifyTufRepository(readTufRepository(snapshot), material, config, now);
  return {
    env: config.env,
    ok: check.problems.length === 0,
    problems: check.problems,
    warnings: check.warnings,
    tuf: { expiry: check.expiry, targetsCurrent: check.targetsCurrent },
  };
}
