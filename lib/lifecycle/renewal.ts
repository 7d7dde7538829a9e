import type { SigstoreConfig } from '../config/schema';
import { addCertificate, INTERMEDIATE_CURVE, issued, issueWithNewKey, LOG_KEY_CURVE, TSA_LEAF_CURVE, window } from '../pki/bootstrap';
import { StateError } from '../errors';
import { encryptPrivateKey, generateEcKeyPair, newKeyPassword, publicKeyPem, spkiSha256 } from '../pki/keys';
import { LocalSigner } from '../pki/local-signer';
import { loadMinting } from '../pki/minting';
import type { RootName } from '../pki/root-keys';
import type { Signer } from '../pki/signer';
import { decryptStateKey, readEncryptedKey, readStateCertificate } from '../pki/state-items';
import type { StateSnapshot } from '../state/store';
import { generationItem, generationsOf, latestGeneration, type GenerationalItem } from './generations';

/** What a renewal mints with: the state, the times, and the signer of a root generation. */
export interface RenewalContext {
  readonly snapshot: StateSnapshot;
  readonly config: SigstoreConfig;
  /** When the new certificates start (their notBefore) and are published. */
  readonly now: Date;
  /** The cut-over: servers switch to the new generation then. */
  readonly activeFrom: Date;
  /** The end of the previous generation's validFor: the cut-over plus the overlap. */
  readonly previousValidUntil: Date;
  /** The signer of generation `generation` of a root's key (wrapped in the ceremony log); asked for only when a root must sign. */
  readonly rootSigner: (root: RootName, generation: number) => Promise<Signer>;
}

/** One generation a rotation added. */
export interface AddedGeneration {
  readonly item: GenerationalItem;
  readonly generation: number;
  readonly itemId: string;
  readonly activeFrom: string;
  readonly previousValidUntil: string;
}

/**
 * A new TSA leaf under the newest TSA intermediate (the common yearly renewal): a new local P-256
 * key, signed with the intermediate's local key. No root key, no KMS.
 */
export async function renewTsaLeaf(context: RenewalContext): Promise<AddedGeneration> {
  const { snapshot, config } = context;
  const issuer = latestGeneration(snapshot, 'tsa-intermediate');
  const intermediate = readStateCertificate(snapshot, { id: issuer.itemId, files: { certificate: issuer.files.certificate } });
  const intermediateKey = decryptStateKey(readEncryptedKey(snapshot, { id: issuer.itemId, files: { privateKey: issuer.files.privateKey, password: issuer.files.password } }), issuer.files.privateKey);
  const signer = new LocalSigner(intermediateKey, issuer.files.privateKey);
  const { tsaLeafProfile } = loadMinting();
  return addGeneration(context, 'tsa-leaf', issuer.generation, (item) =>
    issueWithNewKey(snapshot, item, TSA_LEAF_CURVE, intermediate, signer, context.now, (input) =>
      tsaLeafProfile(issued(input, config.organization, intermediate, config.pki.tsa.leafValidity)),
    ),
  );
}

/**
 * A new intermediate under the newest root of its hierarchy: a new local P-384 key, signed by the
 * root key (KMS: one signature). A new TSA intermediate brings a new TSA leaf under it.
 */
export async function renewIntermediate(context: RenewalContext, root: 'fulcio' | 'tsa'): Promise<AddedGeneration[]> {
  const { snapshot, config } = context;
  const rootItem = root === 'fulcio' ? 'fulcio-root' : 'tsa-root';
  const item = root === 'fulcio' ? 'fulcio-intermediate' : 'tsa-intermediate';
  const rootGeneration = latestGeneration(snapshot, rootItem);
  const rootCertificate = readStateCertificate(snapshot, { id: rootGeneration.itemId, files: { certificate: rootGeneration.files.certificate } });
  const signer = await context.rootSigner(root, rootGeneration.generation);
  const { fulcioIntermediateProfile, tsaIntermediateProfile } = loadMinting();
  const profile = root === 'fulcio' ? fulcioIntermediateProfile : tsaIntermediateProfile;
  const validity = config.pki[root].intermediateValidity;
  const added = [
    await addGeneration(context, item, rootGeneration.generation, (stateItem) =>
      issueWithNewKey(snapshot, stateItem, INTERMEDIATE_CURVE, rootCertificate, signer, context.now, (input) =>
        profile(issued(input, config.organization, rootCertificate, validity)),
      ),
    ),
  ];
  if (root === 'tsa') added.push(await renewTsaLeaf(context));
  return added;
}

/**
 * A new log key generation (a new log shard): a new local P-256 key. The cluster chart starts a new
 * Trillian tree for it and freezes the old one at the cut-over (lib/k8s/rekor-shards.ts).
 */
export async function renewLogKey(context: RenewalContext, item: 'rekor-key' | 'ctlog-key'): Promise<AddedGeneration> {
  const { snapshot } = context;
  const generation = latestGeneration(snapshot, item).generation + 1;
  const { id, files } = generationItem(item, generation);
  const password = newKeyPassword();
  const { privateKey, publicKey } = generateEcKeyPair(LOG_KEY_CURVE);
  snapshot.addItem(id, {
    mintedAt: context.now,
    files: {
      publicKey: { path: files.publicKey, content: publicKeyPem(publicKey) },
      privateKey: { path: files.privateKey, content: encryptPrivateKey(privateKey, password) },
      password: { path: files.password, content: password },
    },
  });
  const record = { generation, itemId: id, activeFrom: context.activeFrom.toISOString(), previousValidUntil: context.previousValidUntil.toISOString() };
  snapshot.addGeneration(item, record);
  return { item, ...record };
}

/**
 * A new root: generation N of the root's key (KMS: the alias `keys ensure --next` created; local: a
 * new key file), pinned in the generation's manifest record before it signs; the new self-signed
 * root, then a new intermediate under it (and, for the TSA, a new leaf). The old root stays.
 * No cross-signed certificate: clients pick the chain by trusted_root.json's validFor (README).
 */
export async function renewRoot(context: RenewalContext, root: 'fulcio' | 'tsa'): Promise<AddedGeneration[]> {
  const { snapshot, config, now } = context;
  const item = root === 'fulcio' ? 'fulcio-root' : 'tsa-root';
  const generation = latestGeneration(snapshot, item).generation + 1;
  const signer = await context.rootSigner(root, generation);
  const publicKey = await signer.publicKey();
  const pin = { keyRef: signer.keyRef, spkiSha256: spkiSha256(publicKey), pinnedAt: now.toISOString() };
  const earlier = generationsOf(snapshot, item).map((entry) => (entry.generation === 1 ? snapshot.rootKeyPin(root) : entry.rootKey));
  if (earlier.some((other) => other?.spkiSha256 === pin.spkiSha256 || other?.keyRef === pin.keyRef)) {
    throw new StateError(
      'STATE_SIGNER_MISMATCH',
      `generation ${generation} of the ${root} root would use ${pin.keyRef} (SPKI SHA-256 ${pin.spkiSha256}), a key an earlier generation uses; a root rotation needs a new key`,
    );
  }
  const { id, files } = generationItem(item, generation);
  const { buildCertificate, fulcioRootProfile, tsaRootProfile } = loadMinting();
  const profile = root === 'fulcio' ? fulcioRootProfile : tsaRootProfile;
  const certificate = await buildCertificate(profile(window(config.organization, publicKey, now, config.pki[root].rootValidity)), { signer, purpose: `${id} certificate` });
  addCertificate(snapshot, { id, files: { certificate: files.certificate } }, certificate, now, signer.keyRef);
  snapshot.addGeneration(item, {
    generation,
    itemId: id,
    activeFrom: context.activeFrom.toISOString(),
    previousValidUntil: context.previousValidUntil.toISOString(),
    rootKey: pin,
  });
  const added: AddedGeneration = { item, generation, itemId: id, activeFrom: context.activeFrom.toISOString(), previousValidUntil: context.previousValidUntil.toISOString() };
  return [added, ...(await renewIntermediate(context, root))];
}

async function addGeneration(
  context: RenewalContext,
  item: GenerationalItem,
  issuerGeneration: number | undefined,
  mint: (stateItem: { id: string; files: { certificate: string; privateKey: string; password: string } }) => Promise<void>,
): Promise<AddedGeneration> {
  const { snapshot } = context;
  const generation = latestGeneration(snapshot, item).generation + 1;
  const { id, files } = generationItem(item, generation);
  await mint({ id, files: { certificate: files.certificate, privateKey: files.privateKey, password: files.password } });
  const record = {
    generation,
    itemId: id,
    activeFrom: context.activeFrom.toISOString(),
    previousValidUntil: context.previousValidUntil.toISOString(),
    ...(issuerGeneration ? { issuerGeneration } : {}),
  };
  snapshot.addGeneration(item, record);
  return { item, generation, itemId: id, activeFrom: record.activeFrom, previousValidUntil: record.previousValidUntil };
}
