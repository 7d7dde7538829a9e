import type { SigstoreConfig } from '../config/schema';
import { validateConfig } from '../config/validate';
import { checkCustody } from '../custody/check-custody';
import { openPasswordsFor } from '../custody/state-keyring';
import { expectPublishedTrustKept } from '../custody/published-trust';
import type { RootKeyProvider } from '../pki/root-keys';
import { readPkiMaterial } from '../pki/state-items';
import { ceremonyTufRootSigners } from '../pki/tuf-root-ceremony';
import { silentProgress } from '../progress';
import { StateStore } from '../state/store';
import { rootKeysFor } from '../pki/configured-root-keys';
import type { StateLocation } from '../synth';
import { tufExpiryReport, type RoleExpiry } from '../trust/tuf/expiry';
import { refreshTufRepository, type TufPublication } from '../trust/tuf/lifecycle';
import { readTufRepository } from '../trust/tuf/repository';
import { rotateTufRootKeys, type TufRootRotation } from '../trust/tuf/root-rotation';
import { buildTufTargets } from '../trust/tuf/targets';

export interface RotateTufRootOptions extends StateLocation {
  readonly config: SigstoreConfig;
  /** When the new root version (and any online role that is due) is signed; expiry counts from it. @default - the clock */
  readonly at?: Date;
  /** Who holds the root keys (the configured ones and the current generation's). @default - the configured signer */
  readonly rootKeys?: RootKeyProvider;
  /** Recorded in the ceremony log. @default - $SIGSTORE_CDK_OPERATOR, else $USER */
  readonly operator?: string;
}

export interface RotateTufRootResult {
  readonly env: string;
  readonly item: 'tuf-root';
  readonly rotation: TufRootRotation;
  /** Every metadata version published: the root, then whatever online role was due or stale. */
  readonly published: readonly TufPublication[];
  readonly stateWritten: boolean;
  /** What to deploy, in order. */
  readonly deploy: readonly string[];
  /** Each role's expiry after the rotation. */
  readonly expiry: readonly RoleExpiry[];
}

/**
 * `sigstore-cdk rotate tuf-root`: under the state lock, checks the state's custody, then publishes the
 * next TUF root version with the configured root keys and threshold (`tuf.root`), signed by a
 * threshold of the current root keys and by every configured key (lib/trust/tuf/root-rotation.ts),
 * records the new generation of root keys in the manifest, re-signs whatever online role is due and
 * publishes new targets when the trust material changed (as `tuf refresh`), and commits. Every
 * root-key signature is in the ceremony log. Servers load nothing from the root: deploying
 * `dist/trust/tuf/` is the whole roll-out; clients holding any earlier root walk the chain to it.
 */
export async function rotateTufRoot(options: RotateTufRootOptions): Promise<RotateTufRootResult> {
  const { config } = options;
  validateConfig(config);
  const clock = options.clock ?? (() => new Date());
  const store = new StateStore({ root: options.stateRoot, env: config.env, lock: options.lock });
  const rootKeys = options.rootKeys ?? rootKeysFor(config);
  const progress = options.progress ?? silentProgress;
  return store.withLock(async () => {
    const snapshot = await store.load();
    await checkCustody(snapshot, store.directory);
    await openPasswordsFor(config, snapshot, store.directory, { rootKeys, kms: options.kms, environment: options.environment, progress });
    const material = await readPkiMaterial(snapshot);
    expectPublishedTrustKept(readTufRepository(snapshot).targets.signed, buildTufTargets(material, config), store.directory);
    const now = options.at ?? clock();
    const signers = ceremonyTufRootSigners({ rootKeys, snapshot, store, clock, now, config, operator: options.operator });
    const rotation = await rotateTufRootKeys(snapshot, { config, signers, now, progress });
    const rootPublication: TufPublication = {
      role: 'root',
      version: rotation.to.version,
      expires: rotation.to.expires,
      reason: `rotated to TUF root key generation ${rotation.to.generation} (threshold ${rotation.to.threshold} of ${rotation.to.keys.length})`,
    };
    const online = await refreshTufRepository(snapshot, {
      config,
      material,
      rootSigner: () => signers.byKeyRef(rotation.to.keys[0].keyRef),
      rootKeySigner: signers.byKeyRef,
      now,
      progress,
    });
    const stateWritten = await store.commit(snapshot);
    return {
      env: config.env,
      item: 'tuf-root',
      rotation,
      published: [rootPublication, ...online],
      stateWritten,
      deploy: tufRootDeploySteps(config.env, rotation),
      expiry: tufExpiryReport(readTufRepository(snapshot), config, now),
    };
  });
}

/** What the operator deploys after a TUF root rotation, in order. */
export function tufRootDeploySteps(env: string, rotation: TufRootRotation): string[] {
  return [
    `sigstore-cdk synth --env ${env}: writes ${rotation.to.version}.root.json (and root.json, a copy of it) into dist/trust/tuf/`,
    'deploy dist/trust/tuf/ to the TUF server (kubectl apply -f dist/, or copy the directory to the static host): no server switches keys; ' +
      `clients holding any earlier root walk ${Array.from({ length: rotation.to.version - 1 }, (_, index) => `${index + 2}.root.json`).join(', ')} on their next refresh`,
    `sigstore-cdk verify --env ${env}: checks the chain from 1.root.json`,
    `keep 1.root.json as the root clients are initialized with (it stays valid as the chain's start); hand out ${rotation.to.version}.root.json to new clients if you prefer a shorter walk`,
    ...(rotation.from.keys.some((key) => !rotation.to.keys.some((next) => next.keyRef === key.keyRef))
      ? [`only then retire the keys of generation ${rotation.from.generation} that generation ${rotation.to.generation} dropped (keep KMS keys enabled until no client is older than v${rotation.to.version}; never reuse their aliases)`]
      : []),
  ];
}
