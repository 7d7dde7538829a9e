import { createHash } from 'node:crypto';
import type { SigstoreConfig } from '../config/schema';
import { missingFromState } from '../custody/published-state';
import { rootPinProblems } from '../custody/root-pins';
import { rootSignedArtifacts } from '../custody/root-signed';
import { stateKeyringFor, type StateKeyring } from '../custody/state-keyring';
import { StateError } from '../errors';
import { ceremonyOperator, chainedCeremonyLog, type NewCeremonyRecord } from '../pki/ceremony-log';
import { spkiSha256 } from '../pki/keys';
import { rootPublicKey, type RootKeyProvider, type RootName } from '../pki/root-keys';
import { readPkiMaterial } from '../pki/state-items';
import { LEGACY_MANIFEST_FORMAT, MANIFEST_FORMAT } from '../state/manifest';
import { StateStore, type StateSnapshot } from '../state/store';
import { checkCustody } from '../custody/check-custody';
import { rootKeysFor } from '../pki/configured-root-keys';
import type { StateLocation } from '../synth';
import { readTufRepository } from '../trust/tuf/repository';
import { versionedMetadataItem } from '../trust/tuf/tuf-state';

/** Where `state upgrade` keeps the v1 ceremony log (unchained records): an immutable item of the state. */
export const LEGACY_CEREMONY_LOG_ITEM = { id: 'ceremony-log-v1', files: { log: 'ceremony-log-v1.jsonl' } } as const;

export interface StateUpgradeOptions extends StateLocation {
  readonly config: SigstoreConfig;
  /** Who holds the root keys. @default - the configured signer (KMS needs credentials) */
  readonly rootKeys?: RootKeyProvider;
  /** Recorded in the new ceremony log. @default - $SIGSTORE_CDK_OPERATOR, else $USER, else the OS account name */
  readonly operator?: string;
  /** Seals plaintext password files of an otc-kms state. @default - through the root keys' KMS connection */
  readonly keyring?: StateKeyring;
}

export interface PinnedRootKey {
  readonly root: RootName;
  readonly keyRef: string;
  readonly spkiSha256: string;
  /** How the key was established: `KMS get-publickey of key … (alias …)`, `local key file …`. */
  readonly evidence: string;
}

export interface StateUpgradeResult {
  readonly env: string;
  /** False when the state was in the current format already (nothing written). */
  readonly upgraded: boolean;
  readonly from: string;
  readonly to: string;
  readonly pinned: readonly PinnedRootKey[];
  /** Where the v1 ceremony log is kept, if the state had one. */
  readonly legacyCeremonyLog?: string;
  /**
   * The password files this run sealed under a new KMS data key (an otc-kms state that kept them in
   * plaintext); empty when there were none to seal.
   */
  readonly sealedPasswords: readonly string[];
}

const ROOTS: readonly RootName[] = ['fulcio', 'tsa', 'tuf'];

/**
 * `sigstore-cdk state upgrade`: converts a state minted before root keys were pinned
 * (sigstore-cdk/state/v1) without trusting it on first use. Under the lock, it requires the state to
 * be complete, reads the PKI (keys, chains), asks the configured signer for each root's public key
 * (KMS get-publickey through the configured aliases, or the local key files) and checks that every
 * root certificate and TUF root version carries that key and is signed by it, and that the manifest
 * names it in `signedBy`: the same checks every later load runs against the pins. Only then it pins
 * the keys, marks the state published, keeps the old ceremony log as the item `ceremony-log-v1` and
 * starts the chained log with one `adopt` record per root-signed item, and commits. Any mismatch is
 * refused and nothing is written. Re-minting nothing, signing nothing.
 */
export async function runStateUpgrade(options: StateUpgradeOptions): Promise<StateUpgradeResult> {
  const { config } = options;
  const store = new StateStore({ root: options.stateRoot, env: config.env });
  const now = (options.clock ?? (() => new Date()))();
  return store.withLock(async () => {
    const snapshot = await store.load({ legacyFormat: 'accept' });
    const needsSealing = config.signer === 'otc-kms' && !snapshot.passwordsSealed && snapshot.passwordFiles().length > 0;
    if (!snapshot.legacyFormat) {
      if (!needsSealing) return { env: config.env, upgraded: false, from: MANIFEST_FORMAT, to: MANIFEST_FORMAT, pinned: [], sealedPasswords: [] };
      // A current state whose passwords are plaintext files: checked as every command checks it, then sealed.
      await checkCustody(snapshot, store.directory);
      const sealedPasswords = await sealPlaintextPasswords(snapshot, options, now);
      await store.commit(snapshot);
      return { env: config.env, upgraded: true, from: MANIFEST_FORMAT, to: MANIFEST_FORMAT, pinned: [], sealedPasswords };
    }
    const missing = missingFromState(snapshot);
    if (missing.length > 0) {
      throw new StateError(
        'STATE_INCOMPLETE',
        `state ${store.directory} (${LEGACY_MANIFEST_FORMAT}) lacks ${missing.join(', ')}; only a complete state is upgraded. ` +
          `Restore it from a backup; if it was never published, move it aside and run "sigstore-cdk bootstrap --env ${config.env}". Nothing was changed`,
      );
    }
    await readPkiMaterial(snapshot); // keys decrypt and match, chains validate
    readTufRepository(snapshot); // every version present and parseable

    const rootKeys = options.rootKeys ?? rootKeysFor(config);
    const pinned: PinnedRootKey[] = [];
    for (const root of ROOTS) {
      const held = await rootPublicKey(rootKeys, root, snapshot);
      const pin = { keyRef: held.keyRef, spkiSha256: spkiSha256(held.publicKey) };
      snapshot.pinRootKey(root, { ...pin, pinnedAt: now.toISOString() });
      pinned.push({ root, ...pin, evidence: held.evidence });
    }
    // The pins are the signer's keys; the state must fit them exactly as every later load checks it.
    const artifacts = rootSignedArtifacts(snapshot);
    const problems = rootPinProblems(snapshot, artifacts);
    if (problems.length > 0) {
      throw new StateError(
        'STATE_SIGNER_MISMATCH',
        `state ${store.directory} cannot be upgraded: it does not fit the keys of the configured signer (${rootKeys.description}); nothing was changed:\n` +
          `${problems.map((problem) => `  - ${problem}`).join('\n')}\n` +
          `${pinned.map((pin) => `  (${pin.root}: ${pin.keyRef}, from ${pin.evidence})`).join('\n')}\n` +
          'Restore the state from a backup, or configure the keys that minted it.',
      );
    }

    const legacyLog = snapshot.loadedCeremonyLog;
    if (legacyLog) {
      snapshot.addItem(LEGACY_CEREMONY_LOG_ITEM.id, { mintedAt: now, files: { log: { path: LEGACY_CEREMONY_LOG_ITEM.files.log, content: legacyLog } } });
    }
    const operator = ceremonyOperator(options.operator);
    const reason =
      `state upgrade from ${LEGACY_MANIFEST_FORMAT}: checked against the signer's key before pinning; ` +
      (legacyLog
        ? `the v1 log is kept as ${LEGACY_CEREMONY_LOG_ITEM.files.log} (SHA-256 ${createHash('sha256').update(legacyLog).digest('hex')})`
        : 'the state had no v1 ceremony log');
    const records: NewCeremonyRecord[] = artifacts.map((artifact) => {
      const pin = pinned.find((entry) => entry.root === artifact.root)!;
      return {
        kind: 'adopt',
        time: now.toISOString(),
        env: config.env,
        operator,
        keyRef: pin.keyRef,
        keySpki: pin.spkiSha256,
        purpose: artifact.purpose,
        digestAlgorithm: artifact.digestAlgorithm,
        digest: artifact.digest,
        signatureSha256: createHash('sha256').update(artifact.signature).digest('hex'),
        evidence: pin.evidence,
        reason,
      };
    });
    // Published since its TUF repository was first signed (a v1 state only exists complete).
    snapshot.markPublished(new Date(snapshot.item(versionedMetadataItem('root', 1).id)!.mintedAt));
    snapshot.upgradeFormat(chainedCeremonyLog(records));
    const sealedPasswords = needsSealing ? await sealPlaintextPasswords(snapshot, { ...options, rootKeys }, now) : [];
    await store.commit(snapshot);
    return {
      env: config.env,
      upgraded: true,
      from: LEGACY_MANIFEST_FORMAT,
      to: MANIFEST_FORMAT,
      pinned,
      ...(legacyLog ? { legacyCeremonyLog: LEGACY_CEREMONY_LOG_ITEM.files.log } : {}),
      sealedPasswords,
    };
  });
}

/**
 * Seals every plaintext password file of an otc-kms state under a new data key from KMS
 * (create-datakey under otc.kms.stateKeyAlias; the key is created when missing). The keys are first
 * checked to decrypt with their passwords and match their certificates, and each sealed file is
 * checked to open back: the commit that follows writes the sealed state in one directory swap (the
 * old state stays whole until then), so a failed or interrupted upgrade changes nothing and running
 * it again is safe.
 */
async function sealPlaintextPasswords(snapshot: StateSnapshot, options: StateUpgradeOptions, now: Date): Promise<string[]> {
  await readPkiMaterial(snapshot); // every key opens with its plaintext password before it is sealed
  const keyring = options.keyring ?? stateKeyringFor(options.config, { rootKeys: options.rootKeys, kms: options.kms, environment: options.environment, progress: options.progress });
  if (!keyring) return [];
  const { content, envelope } = await keyring.create(now);
  const sealed = snapshot.sealPasswords({ mintedAt: now, content }, envelope);
  await readPkiMaterial(snapshot); // and opens with its sealed one
  return sealed;
}
