import type { SigstoreConfig } from './config/schema';
import { expiryFindings, expiryReport, type ItemExpiry } from './lifecycle/expiry';
import { stateCertificates } from './lifecycle/generations';
import { checkCustody } from './custody/check-custody';
import { expectSignerHoldsPinnedKeys } from './custody/signer-keys';
import type { RootKeyProvider } from './pki/root-keys';
import { readPkiMaterial } from './pki/state-items';
import { StateStore, type StateSnapshot } from './state/store';
import { rootKeysFor } from './pki/configured-root-keys';
import type { StateLocation } from './synth';
import type { RoleExpiry } from './trust/tuf/expiry';
import { tufRootConfigurationWarning } from './trust/tuf/configured-root-keys';
import { readTufRepository, type TufRepository } from './trust/tuf/repository';
import { TRUSTED_ROOT_TARGET } from './trust/tuf/targets';
import { verifyTufRepository } from './trust/tuf/verify-repository';
import { describeSettingsNotApplied, settingsNotApplied } from './custody/settings-not-applied';

export interface VerifyOptions extends StateLocation {
  readonly config: SigstoreConfig;
  /** Who holds the root keys, to compare the pins with. @default - the configured signer (KMS needs credentials) */
  readonly rootKeys?: RootKeyProvider;
  /** Skip the comparison with the signer (no KMS call): the state is then checked only against itself. @default false */
  readonly offline?: boolean;
}

export interface VerifyResult {
  readonly env: string;
  /** True when nothing failed (warnings allowed). */
  readonly ok: boolean;
  /** What fails clients now: an expired role, stale targets, a bad signature or hash. */
  readonly problems: readonly string[];
  /** What needs a refresh soon, and what was not checked. */
  readonly warnings: readonly string[];
  /** Whether the pinned root keys were compared with the signer's (KMS get-publickey, or the local key files). */
  readonly rootKeys: 'compared with the signer' | 'not compared (offline)';
  readonly tuf: {
    readonly expiry: readonly RoleExpiry[];
    readonly targetsCurrent: boolean;
    /** The current TUF root: its version and its generation of root keys (threshold, key references). */
    readonly root: { readonly version: number; readonly generation: number; readonly threshold: number; readonly keys: readonly string[] };
  };
  /** Every certificate of the state and every `validFor` of the published trusted_root.json, with its notAfter and days left. */
  readonly expiry: readonly ItemExpiry[];
}

/**
 * `sigstore-cdk verify`: loads the state (which checks every file against the manifest), checks its
 * custody (a published state lacks nothing; every root carries and is signed by its pinned key; the
 * ceremony log is the recorded hash chain and holds every root-key signature; lib/custody) and that
 * keys, certificates and chains fit together, compares the pinned keys with the signer's (unless
 * offline), then checks the TUF repository as a client would: signatures along the root chain and of
 * every role, hashes, expiry at `clock()` and whether the targets still match the trust material.
 * Last, the expiry of every certificate and every `validFor` of the published trusted_root.json
 * (lib/lifecycle/expiry.ts): inside its renewal window a warning; expired, or expiring before the
 * TUF timestamp does, a problem. State problems throw a StateError (exit 3); TUF problems are reported (exit 5). Reads only, without
 * the lock: it works on a read-only state.
 */
export async function runVerify(options: VerifyOptions): Promise<VerifyResult> {
  const { config } = options;
  const store = new StateStore({ root: options.stateRoot, env: config.env });
  const now = (options.clock ?? (() => new Date()))();
  const snapshot = await store.load();
  await checkCustody(snapshot, store.directory);
  const material = await readPkiMaterial(snapshot, { at: now });
  const warnings: string[] = [];
  if (config.signer === 'otc-kms' && !snapshot.passwordsSealed && snapshot.passwordFiles().length > 0) {
    warnings.push(
      `the state keeps ${snapshot.passwordFiles().length} password files in plaintext beside the private keys; synth, bootstrap, tuf refresh and rotate refuse it: ` +
        `run "sigstore-cdk state upgrade --env ${config.env}" to seal them under a KMS data key`,
    );
  }
  let rootKeys: RootKeyProvider | undefined;
  if (options.offline) {
    warnings.push(`the pinned root keys were not compared with the signer (--offline): the state was checked only against itself`);
  } else {
    rootKeys = options.rootKeys ?? rootKeysFor(config);
    await expectSignerHoldsPinnedKeys(snapshot, rootKeys, store.directory);
  }
  const rotationPending = await tufRootConfigurationWarning(snapshot, config, rootKeys).catch(
    (error: Error) => `tuf.root could not be compared with the current TUF root: ${error.message}`,
  );
  if (rotationPending) warnings.push(rotationPending);
  const repository = readTufRepository(snapshot);
  const check = await verifyTufRepository(repository, material, config, now);
  const tufTimestampExpires = new Date(repository.timestamp.signed.expires);
  const expiry = expiryReport({ certificates: stateCertificates(snapshot, material, now), trustedRoot: publishedTrustedRoot(repository), tufTimestampExpires, config, now });
  const findings = expiryFindings(expiry, config.env, tufTimestampExpires);
  const problems = [...check.problems, ...findings.problems];
  warnings.push(...describeSettingsNotApplied(settingsNotApplied(config, material)));
  return {
    env: config.env,
    ok: problems.length === 0,
    problems,
    warnings: [...check.warnings, ...findings.warnings, ...warnings],
    rootKeys: options.offline ? 'not compared (offline)' : 'compared with the signer',
    tuf: { expiry: check.expiry, targetsCurrent: check.targetsCurrent, root: currentTufRoot(snapshot, repository) },
    expiry,
  };
}

/** trusted_root.json as the current TUF targets publish it (what clients hold); empty when the targets lack it. */
function publishedTrustedRoot(repository: TufRepository): object {
  const file = repository.targets.signed.targets[TRUSTED_ROOT_TARGET];
  const bytes = file && repository.files.get(`targets/${file.hashes.sha256}.${TRUSTED_ROOT_TARGET}`);
  if (!bytes) return {};
  try {
    return JSON.parse(bytes.toString('utf8')) as object;
  } catch {
    return {}; // a target that does not match its hash is a problem verifyTufRepository reports
  }
}

/** The current TUF root version and its generation of root keys, for `--json` (which generation is live). */
function currentTufRoot(snapshot: StateSnapshot, repository: TufRepository): VerifyResult['tuf']['root'] {
  const generations = snapshot.tufRootKeyGenerations();
  const generation = generations[generations.length - 1];
  return {
    version: repository.root.signed.version,
    generation: generation?.generation ?? 0,
    threshold: repository.root.signed.roles.root?.threshold ?? 0,
    keys: generation?.keys.map((pin) => pin.keyRef) ?? [],
  };
}
