import type { SigstoreConfig } from './config/schema';
import { validateConfig } from './config/validate';
import { checkCustody } from './custody/check-custody';
import { openPasswordsFor } from './custody/state-keyring';
import { expectPublishedTrustKept } from './custody/published-trust';
import { ceremonySigners } from './pki/ceremony-log';
import { keyRefSigner, type RootKeyProvider } from './pki/root-keys';
import { ceremonyTufRootSigners } from './pki/tuf-root-ceremony';
import { readPkiMaterial } from './pki/state-items';
import { silentProgress } from './progress';
import { StateStore } from './state/store';
import { rootKeysFor } from './pki/configured-root-keys';
import type { StateLocation } from './synth';
import { tufExpiryReport, type RoleExpiry } from './trust/tuf/expiry';
import { refreshTufRepository, type TufPublication } from './trust/tuf/lifecycle';
import { readTufRepository } from './trust/tuf/repository';
import { buildTufTargets } from './trust/tuf/targets';

export interface TufRefreshResult {
  readonly env: string;
  /** The new metadata versions, in signing order (empty when nothing was due). */
  readonly published: readonly TufPublication[];
  /** Whether the state directory was written. */
  readonly stateWritten: boolean;
  /** Each role's expiry after the refresh. */
  readonly expiry: readonly RoleExpiry[];
}

/**
 * `sigstore-cdk tuf refresh`: under the state lock, checks the state's custody (lib/custody), then
 * re-signs every TUF role that is due and publishes new targets when the URLs or signing config
 * changed (lib/trust/tuf/lifecycle.ts; published keys and certificates are never replaced), then
 * commits the state.
 * The root key (KMS) is asked for only when the root itself is due. Run `synth` afterwards to copy the
 * new versions into `dist/trust/tuf/`.
 */
export async function runTufRefresh(options: StateLocation & { config: SigstoreConfig; rootKeys?: RootKeyProvider; operator?: string }): Promise<TufRefreshResult> {
  const { config } = options;
  // The signed targets are built from the configuration: check it before anything is signed.
  validateConfig(config);
  const clock = options.clock ?? (() => new Date());
  const store = new StateStore({ root: options.stateRoot, env: config.env, lock: options.lock });
  return store.withLock(async () => {
    const snapshot = await store.load();
    // Nothing is published from a state whose custody fails: a lost item, a root that is not its
    // pinned key, a ceremony log that is not the record, or keys other than those already published.
    await checkCustody(snapshot, store.directory);
    // The online roles' keys are in the state; an otc-kms state's passwords open through KMS (decrypt-datakey).
    await openPasswordsFor(config, snapshot, store.directory, { rootKeys: options.rootKeys, kms: options.kms, environment: options.environment, progress: options.progress });
    const material = await readPkiMaterial(snapshot);
    expectPublishedTrustKept(readTufRepository(snapshot).targets.signed, buildTufTargets(material, config), store.directory);
    const now = clock();
    let rootKeys: RootKeyProvider | undefined;
    const resolvedRootKeys = () => (rootKeys ??= options.rootKeys ?? rootKeysFor(config));
    const rootSigner = ceremonySigners({
      // resolved only when the root is due: an otc-kms environment refreshes its online roles without KMS
      rootKeys: { description: 'configured signer', signerFor: (...args) => resolvedRootKeys().signerFor(...args) },
      snapshot,
      store,
      clock,
      operator: options.operator,
    });
    // A due root is signed by the current generation's keys, by the references the state recorded (after a rotation the configuration may name newer ones).
    const tufRootSigners = ceremonyTufRootSigners({
      rootKeys: { description: 'configured signer', signerFor: (...args) => resolvedRootKeys().signerFor(...args), signerForKeyRef: (...args) => keyRefSigner(resolvedRootKeys(), ...args) },
      snapshot,
      store,
      clock,
      now,
      config,
      operator: options.operator,
    });
    const published = await refreshTufRepository(snapshot, {
      config,
      material,
      rootSigner: () => rootSigner('tuf'),
      rootKeySigner: tufRootSigners.byKeyRef,
      now,
      progress: options.progress ?? silentProgress,
    });
    const stateWritten = await store.commit(snapshot);
    return { env: config.env, published, stateWritten, expiry: tufExpiryReport(readTufRepository(snapshot), config, now) };
  });
}
