import type { KeyObject } from 'node:crypto';
import { addDuration, type Duration } from '../config/duration';
import type { SigstoreConfig } from '../config/schema';
import { checkCustody } from '../custody/check-custody';
import { publishedLogKeys } from '../custody/published-log-keys';
import { missingFromState } from '../custody/published-state';
import { expectSignerHoldsPinnedKeys } from '../custody/signer-keys';
import { openStatePasswords, sealNewState, unsealedStateError, type StateKeyring } from '../custody/state-keyring';
import { StateError } from '../errors';
import { silentProgress, type Progress } from '../progress';
import type { StateSnapshot, StateStore } from '../state/store';
import type { Certificate } from './certificate';
import type { CertificateTemplate } from './certificate-builder';
import { ceremonySigners } from './ceremony-log';
import { ceremonyTufRootSigners } from './tuf-root-ceremony';
import { encryptPrivateKey, generateEcKeyPair, newKeyPassword, publicKeyPem, publicKeysEqual, spkiSha256, type Curve } from './keys';
import { LocalSigner } from './local-signer';
import { loadMinting } from './minting';
import type { IssuedProfileInput, ProfileInput } from './profiles';
import type { RootKeyProvider, RootName } from './root-keys';
import type { Signer } from './signer';
import {
  STATE_ITEMS,
  certificateKey,
  decryptStateKey,
  missingItems,
  readEncryptedKey,
  readPkiMaterial,
  readStateCertificate,
  type PkiMaterial,
} from './state-items';
import { mintTileLogKeys, missingTileLogKeys, refuseTileLogKeysForPublishedState } from './tile-log-keys';

export interface BootstrapOptions {
  readonly config: SigstoreConfig;
  readonly store: StateStore;
  /** Who holds the root keys. */
  readonly rootKeys: RootKeyProvider;
  /** The time written into certificates and the manifest. @default - the system clock */
  readonly clock?: () => Date;
  /**
   * The time whose active generations the returned `material` holds (synth passes its cut-over time,
   * so it uses this material instead of reading the PKI a second time). @default - the clock
   */
  readonly materialAt?: Date;
  /** Recorded in the ceremony log. @default - $SIGSTORE_CDK_OPERATOR, else $USER, else the OS account name */
  readonly operator?: string;
  /** @default - silent */
  readonly progress?: Progress;
  /**
   * Mints more after the PKI, under the same lock and into the same commit (synth and bootstrap add
   * the TUF repository this way). @default - nothing more
   */
  readonly extend?: (context: BootstrapContext) => Promise<void>;
  /**
   * Whether a state needs nothing from this run. Bootstrap reads the state without the lock first;
   * when it is complete, nothing is minted and the lock is never taken (so a complete state may be
   * read-only). Otherwise it takes the lock, reads the state again and mints what is still missing.
   * @default - no PKI item is missing, when there is no `extend`; with `extend`, never (always locks)
   */
  readonly complete?: (snapshot: StateSnapshot) => boolean;
  /**
   * Called under the lock, on the state as read again, before anything is minted or signed: throws to
   * stop the run (the remote state refuses a working copy that is not derived from it).
   * @default - nothing
   */
  readonly beforeMint?: (snapshot: StateSnapshot) => Promise<void>;
  /**
   * Seals the state's passwords under a KMS data key (the otc-kms signer): opens the data key of a
   * sealed state, creates one before the first password is minted into a new state, and refuses a
   * state with plaintext password files (run `state upgrade`). @default - none: plaintext password files (the local signer)
   */
  readonly keyring?: StateKeyring;
}

/** What `extend` gets: the state being minted, the verified PKI, and the root keys. */
export interface BootstrapContext {
  readonly snapshot: StateSnapshot;
  readonly material: PkiMaterial;
  /** The signer of a root key, wrapped in the ceremony log; asked for only when something must be signed. */
  rootSigner(root: RootName): Promise<Signer>;
  /** The signers of the configured TUF root keys (`tuf.root.keys`), each wrapped in the ceremony log; asked for only when the TUF root is signed. */
  tufRootSigners(): Promise<readonly Signer[]>;
  readonly clock: () => Date;
  readonly progress: Progress;
}

export interface BootstrapResult {
  /** Ids of the items minted by this run, in order (empty when the state was complete). */
  readonly minted: readonly string[];
  /** Whether the state directory was written. */
  readonly written: boolean;
  readonly material: PkiMaterial;
  /** The state as committed. */
  readonly snapshot: StateSnapshot;
}

/** Curves of the keys minted below the roots. */
export const INTERMEDIATE_CURVE: Curve = 'P-384';
export const TSA_LEAF_CURVE: Curve = 'P-256';
export const LOG_KEY_CURVE: Curve = 'P-256';

/**
 * The key ceremony: loads the state, checks its custody (lib/custody) and that the configured signer
 * holds the pinned root keys, mints whatever is missing (roots through the RootKeyProvider, pinning
 * each root's key; everything below them with locally generated keys) and commits the state
 * atomically. A complete state is read and checked without the lock, and left byte for byte as it
 * was; minting happens under the state lock, on the state as read again under it, so a run that
 * waited for another sees what that one minted and mints nothing twice. A published state that lacks
 * an item is refused (STATE_PUBLISHED_ITEMS_MISSING).
 */
export async function bootstrap(options: BootstrapOptions): Promise<BootstrapResult> {
  const { store } = options;
  const progress = options.progress ?? silentProgress;
  const clock = options.clock ?? (() => new Date());
  const complete =
    options.complete ??
    ((snapshot: StateSnapshot) => options.extend === undefined && missingItems(snapshot).length === 0 && missingTileLogKeys(snapshot, options.config).length === 0);
  const current = await store.load();
  if (complete(current)) {
    await checkCustody(current, store.directory);
    // Nothing to mint, so nothing to decrypt: a sealed state's passwords stay closed (an unsealed otc-kms state is refused).
    if (options.keyring && !current.passwordsSealed && current.passwordFiles().length > 0) throw unsealedStateError(current, store.directory);
    await expectSignerHoldsPinnedKeys(current, options.rootKeys, store.directory);
    return { minted: [], written: false, material: await readPkiMaterial(current, { at: options.materialAt ?? clock() }), snapshot: current };
  }
  return store.withLock(async () => {
    const snapshot = await store.load();
    // Custody before anything is minted: a published state that lost items, a root that is not its
    // pinned key, a log that is not the record, or a signer that holds other keys stops here.
    await checkCustody(snapshot, store.directory);
    await expectSignerHoldsPinnedKeys(snapshot, options.rootKeys, store.directory);
    await options.beforeMint?.(snapshot);
    // Before any password is minted: the data key of a sealed state is opened, a new state gets one.
    await openStatePasswords(snapshot, options.keyring, store.directory);
    await sealNewState(snapshot, options.keyring, clock(), store.directory);
    const ceremonySigner = ceremonySigners({ rootKeys: options.rootKeys, snapshot, store, clock, operator: options.operator });
    await mintMissing(snapshot, options, ceremonySigner, clock, progress);
    // The tile-based logs' keys, for the logs the configuration runs; never into a published state.
    refuseTileLogKeysForPublishedState(snapshot, options.config, publishedLogKeys(snapshot), store.directory);
    const tileLogKeys = missingTileLogKeys(snapshot, options.config);
    if (tileLogKeys.length > 0) await progress.step(`mint ${tileLogKeys.join(', ')}`, async () => void mintTileLogKeys(snapshot, options.config, clock()));
    const material = await readPkiMaterial(snapshot, { at: options.materialAt ?? clock() });
    const tufRootSigners = ceremonyTufRootSigners({ rootKeys: options.rootKeys, snapshot, store, clock, now: clock(), config: options.config, operator: options.operator });
    await options.extend?.({ snapshot, material, rootSigner: ceremonySigner, tufRootSigners: tufRootSigners.configured, clock, progress });
    // The commit that first makes the state complete marks it published: from then on a missing item
    // is corruption. A run that fails before this commit leaves no marker (and nothing else).
    if (missingFromState(snapshot, options.config).length === 0) snapshot.markPublished(clock());
    const written = await store.commit(snapshot);
    return { minted: snapshot.addedItems, written, material, snapshot };
  });
}

async function mintMissing(
  snapshot: StateSnapshot,
  options: BootstrapOptions,
  ceremonySigner: (root: RootName) => Promise<Signer>,
  clock: () => Date,
  progress: Progress,
): Promise<void> {
  const { config } = options;
  const organization = config.organization;
  if (missingItems(snapshot).length === 0) return;
  const { buildCertificate, fulcioIntermediateProfile, fulcioRootProfile, tsaIntermediateProfile, tsaLeafProfile, tsaRootProfile } = loadMinting();

  const rootSigner = async (root: RootName, rootItem: CertificateItem): Promise<Signer> => {
    const signer = await ceremonySigner(root);
    const rootCertificate = snapshot.item(rootItem.id) ? readStateCertificate(snapshot, rootItem) : undefined;
    if (rootCertificate && !publicKeysEqual(await signer.publicKey(), certificateKey(rootCertificate))) {
      throw new StateError(
        'STATE_SIGNER_MISMATCH',
        `the ${root} root in the state was signed by ${snapshot.item(rootItem.id)?.signedBy ?? 'an unknown key'}, but the configured signer ` +
          `(${options.rootKeys.description}, ${signer.keyRef}) holds a different key; use the signer that minted the root (a new root key is a rotation of this state: "sigstore-cdk rotate ${root}-root --env ${config.env}")`,
      );
    }
    return signer;
  };
  const mint = (id: string, work: () => Promise<void>) => progress.step(`mint ${id}`, work);

  // Each hierarchy: root (self-signed by the root key) → intermediate (local key, signed by the root key).
  const hierarchies = [
    {
      root: 'fulcio',
      rootItem: STATE_ITEMS.fulcioRoot,
      intermediateItem: STATE_ITEMS.fulcioIntermediate,
      rootProfile: fulcioRootProfile,
      intermediateProfile: fulcioIntermediateProfile,
      validity: config.pki.fulcio,
    },
    {
      root: 'tsa',
      rootItem: STATE_ITEMS.tsaRoot,
      intermediateItem: STATE_ITEMS.tsaIntermediate,
      rootProfile: tsaRootProfile,
      intermediateProfile: tsaIntermediateProfile,
      validity: config.pki.tsa,
    },
  ] as const;
  for (const hierarchy of hierarchies) {
    const { rootItem, intermediateItem, validity } = hierarchy;
    if (!snapshot.item(rootItem.id)) {
      await mint(rootItem.id, async () => {
        const signer = await rootSigner(hierarchy.root, rootItem);
        const now = clock();
        // Pinned before the signature: a root already pinned to another key is refused unsigned.
        snapshot.pinRootKey(hierarchy.root, { keyRef: signer.keyRef, spkiSha256: spkiSha256(await signer.publicKey()), pinnedAt: now.toISOString() });
        const certificate = await buildCertificate(
          hierarchy.rootProfile(window(organization, await signer.publicKey(), now, validity.rootValidity)),
          { signer, purpose: `${rootItem.id} certificate` },
        );
        addCertificate(snapshot, rootItem, certificate, now, signer.keyRef);
      });
    }
    if (!snapshot.item(intermediateItem.id)) {
      await mint(intermediateItem.id, async () => {
        const root = readStateCertificate(snapshot, rootItem);
        const signer = await rootSigner(hierarchy.root, rootItem);
        await issueWithNewKey(snapshot, intermediateItem, INTERMEDIATE_CURVE, root, signer, clock(), (input) =>
          hierarchy.intermediateProfile(issued(input, organization, root, validity.intermediateValidity)),
        );
      });
    }
  }

  // The TSA signing leaf (local key, signed by the TSA intermediate).
  if (!snapshot.item(STATE_ITEMS.tsaLeaf.id)) {
    await mint(STATE_ITEMS.tsaLeaf.id, async () => {
      const intermediate = readStateCertificate(snapshot, STATE_ITEMS.tsaIntermediate);
      const intermediateKey = decryptStateKey(readEncryptedKey(snapshot, STATE_ITEMS.tsaIntermediate), STATE_ITEMS.tsaIntermediate.files.privateKey);
      const signer = new LocalSigner(intermediateKey, STATE_ITEMS.tsaIntermediate.files.privateKey);
      await issueWithNewKey(snapshot, STATE_ITEMS.tsaLeaf, TSA_LEAF_CURVE, intermediate, signer, clock(), (input) =>
        tsaLeafProfile(issued(input, organization, intermediate, config.pki.tsa.leafValidity)),
      );
    });
  }

  // Transparency log signing keys.
  for (const item of [STATE_ITEMS.ctlogKey, STATE_ITEMS.rekorKey]) {
    if (snapshot.item(item.id)) continue;
    await mint(item.id, async () => {
      const password = newKeyPassword();
      const { privateKey, publicKey } = generateEcKeyPair(LOG_KEY_CURVE);
      snapshot.addItem(item.id, {
        mintedAt: clock(),
        files: {
          publicKey: { path: item.files.publicKey, content: publicKeyPem(publicKey) },
          privateKey: { path: item.files.privateKey, content: encryptPrivateKey(privateKey, password) },
          password: { path: item.files.password, content: password },
        },
      });
    });
  }
}

type CertificateItem = { readonly id: string; readonly files: { readonly certificate: string } };
type KeyedCertificateItem = { readonly id: string; readonly files: { readonly certificate: string; readonly privateKey: string; readonly password: string } };

export function window(organization: string, publicKey: KeyObject, now: Date, validity: Duration): ProfileInput {
  return { organization, publicKey, notBefore: now, notAfter: addDuration(now, validity) };
}

/** Validity of an issued certificate: from now for `validity`, but never past the issuer's notAfter. */
export function issued(
  input: { publicKey: KeyObject; issuerPublicKey: KeyObject; now: Date },
  organization: string,
  issuer: Certificate,
  validity: Duration,
): IssuedProfileInput {
  const wanted = addDuration(input.now, validity);
  const notAfter = wanted.getTime() > issuer.notAfter.getTime() ? issuer.notAfter : wanted;
  if (notAfter.getTime() <= input.now.getTime()) {
    throw new StateError('STATE_CORRUPT', `"${issuer.subject}" expired on ${issuer.notAfter.toISOString()}; it cannot issue certificates any more`);
  }
  return { organization, publicKey: input.publicKey, issuerPublicKey: input.issuerPublicKey, notBefore: input.now, notAfter };
}

/** Issues a certificate for a new local key (`curve`) and adds it, the encrypted key and its password to the state as `item`. */
export async function issueWithNewKey(
  snapshot: StateSnapshot,
  item: KeyedCertificateItem,
  curve: Curve,
  issuer: Certificate,
  signer: Signer,
  now: Date,
  profile: (input: { publicKey: KeyObject; issuerPublicKey: KeyObject; now: Date }) => CertificateTemplate,
): Promise<void> {
  const password = newKeyPassword();
  const { privateKey, publicKey } = generateEcKeyPair(curve);
  const { buildCertificate } = loadMinting();
  const certificate = await buildCertificate(profile({ publicKey, issuerPublicKey: certificateKey(issuer), now }), {
    signer,
    issuer,
    purpose: `${item.id} certificate`,
  });
  snapshot.addItem(item.id, {
    mintedAt: now,
    signedBy: signer.keyRef,
    files: {
      certificate: { path: item.files.certificate, content: certificate.toString('pem') + '\n' },
      privateKey: { path: item.files.privateKey, content: encryptPrivateKey(privateKey, password) },
      password: { path: item.files.password, content: password },
    },
  });
}

export function addCertificate(snapshot: StateSnapshot, item: CertificateItem, certificate: Certificate, now: Date, signedBy: string): void {
  snapshot.addItem(item.id, {
    mintedAt: now,
    signedBy,
    files: { certificate: { path: item.files.certificate, content: certificate.toString('pem') + '\n' } },
  });
}
