import { createPublicKey, type KeyObject } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { StateError } from '../errors';
import type { StateSnapshot } from '../state/store';
import { chainProblem } from './chain-validation';
import { decryptPrivateKey, publicKeyFromPem, publicKeyOf, publicKeysEqual } from './keys';
import { readTileLogKeys, type TileLogKeys } from './tile-log-keys';

/** Every item the bootstrap mints, with the state paths of its files. */
export const STATE_ITEMS = {
  localFulcioRootKey: { id: 'local-signer-fulcio-root', files: { privateKey: 'signer/fulcio-root.key.pem', password: 'signer/fulcio-root.key.password' } },
  localTsaRootKey: { id: 'local-signer-tsa-root', files: { privateKey: 'signer/tsa-root.key.pem', password: 'signer/tsa-root.key.password' } },
  localTufRootKey: { id: 'local-signer-tuf-root', files: { privateKey: 'signer/tuf-root.key.pem', password: 'signer/tuf-root.key.password' } },
  fulcioRoot: { id: 'fulcio-root', files: { certificate: 'fulcio/root.crt.pem' } },
  fulcioIntermediate: {
    id: 'fulcio-intermediate',
    files: { certificate: 'fulcio/intermediate.crt.pem', privateKey: 'fulcio/intermediate.key.pem', password: 'fulcio/intermediate.key.password' },
  },
  tsaRoot: { id: 'tsa-root', files: { certificate: 'tsa/root.crt.pem' } },
  tsaIntermediate: {
    id: 'tsa-intermediate',
    files: { certificate: 'tsa/intermediate.crt.pem', privateKey: 'tsa/intermediate.key.pem', password: 'tsa/intermediate.key.password' },
  },
  tsaLeaf: { id: 'tsa-leaf', files: { certificate: 'tsa/leaf.crt.pem', privateKey: 'tsa/leaf.key.pem', password: 'tsa/leaf.key.password' } },
  ctlogKey: { id: 'ctlog-key', files: { publicKey: 'ctlog/public.pem', privateKey: 'ctlog/private.key.pem', password: 'ctlog/private.key.password' } },
  rekorKey: { id: 'rekor-key', files: { publicKey: 'rekor/public.pem', privateKey: 'rekor/private.key.pem', password: 'rekor/private.key.password' } },
} as const;

export type StateItem = (typeof STATE_ITEMS)[keyof typeof STATE_ITEMS];

/** The items every complete state has, whichever signer minted the roots. */
export const REQUIRED_ITEMS: readonly StateItem[] = [
  STATE_ITEMS.fulcioRoot,
  STATE_ITEMS.fulcioIntermediate,
  STATE_ITEMS.tsaRoot,
  STATE_ITEMS.tsaIntermediate,
  STATE_ITEMS.tsaLeaf,
  STATE_ITEMS.ctlogKey,
  STATE_ITEMS.rekorKey,
];

/** A private key as servers read it: encrypted PEM plus the password (both secret). */
export interface EncryptedKey {
  readonly pem: string;
  readonly password: string;
}

/** A transparency log's signing key. */
export interface LogKey {
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;
  readonly privateKey: EncryptedKey;
  /** When the key was minted: the start of its validity in trusted_root.json. */
  readonly createdAt: Date;
}

/** The minted trust material of one environment, verified. Public parts and secrets are separate fields. */
export interface PkiMaterial {
  readonly fulcio: {
    readonly root: x509.X509Certificate;
    readonly intermediate: x509.X509Certificate;
    /** The intermediate's key, which Fulcio signs leaf certificates with. */
    readonly intermediateKey: EncryptedKey;
  };
  readonly tsa: {
    readonly root: x509.X509Certificate;
    readonly intermediate: x509.X509Certificate;
    readonly leaf: x509.X509Certificate;
    /** The leaf's key, which the TSA signs timestamps with. */
    readonly leafKey: EncryptedKey;
  };
  readonly ctlog: LogKey;
  readonly rekor: LogKey;
  /** The keys of the tile-based logs (Rekor v2, TesseraCT), minted only for environments that run them (tile-log-keys.ts). @default - none */
  readonly tileLogs?: TileLogKeys;
}

export function missingItems(snapshot: StateSnapshot): string[] {
  return REQUIRED_ITEMS.filter((item) => !snapshot.item(item.id)).map((item) => item.id);
}

/**
 * Reads the material from a complete state and checks that it fits together: every key decrypts with
 * its password and matches its certificate or public key, and every certificate is signed by its
 * issuer. Throws a StateError that names what is wrong.
 */
export async function readPkiMaterial(snapshot: StateSnapshot): Promise<PkiMaterial> {
  const missing = missingItems(snapshot);
  if (missing.length > 0) {
    throw new StateError('STATE_INCOMPLETE', `state for "${snapshot.env}" lacks ${missing.join(', ')}; run "sigstore-cdk bootstrap --env ${snapshot.env}"`);
  }
  const certificate = (item: CertificateItem) => readStateCertificate(snapshot, item);
  const encryptedKey = (item: KeyItem) => readEncryptedKey(snapshot, item);

  const fulcioRoot = certificate(STATE_ITEMS.fulcioRoot);
  const fulcioIntermediate = certificate(STATE_ITEMS.fulcioIntermediate);
  const tsaRoot = certificate(STATE_ITEMS.tsaRoot);
  const tsaIntermediate = certificate(STATE_ITEMS.tsaIntermediate);
  const tsaLeaf = certificate(STATE_ITEMS.tsaLeaf);
  const material: PkiMaterial = {
    fulcio: { root: fulcioRoot, intermediate: fulcioIntermediate, intermediateKey: encryptedKey(STATE_ITEMS.fulcioIntermediate) },
    tsa: { root: tsaRoot, intermediate: tsaIntermediate, leaf: tsaLeaf, leafKey: encryptedKey(STATE_ITEMS.tsaLeaf) },
    ctlog: readLogKey(snapshot, STATE_ITEMS.ctlogKey),
    rekor: readLogKey(snapshot, STATE_ITEMS.rekorKey),
    tileLogs: readTileLogKeys(snapshot),
  };

  await expectSelfSigned(fulcioRoot, STATE_ITEMS.fulcioRoot.files.certificate);
  await expectSelfSigned(tsaRoot, STATE_ITEMS.tsaRoot.files.certificate);
  await expectValidChain([fulcioIntermediate, fulcioRoot], STATE_ITEMS.fulcioIntermediate.files.certificate);
  await expectValidChain([tsaIntermediate, tsaRoot], STATE_ITEMS.tsaIntermediate.files.certificate);
  await expectValidChain([tsaLeaf, tsaIntermediate, tsaRoot], STATE_ITEMS.tsaLeaf.files.certificate);
  expectKeyMatches(material.fulcio.intermediateKey, certificateKey(fulcioIntermediate), STATE_ITEMS.fulcioIntermediate.files.privateKey);
  expectKeyMatches(encryptedKey(STATE_ITEMS.tsaIntermediate), certificateKey(tsaIntermediate), STATE_ITEMS.tsaIntermediate.files.privateKey);
  expectKeyMatches(material.tsa.leafKey, certificateKey(tsaLeaf), STATE_ITEMS.tsaLeaf.files.privateKey);
  expectKeyMatches(material.ctlog.privateKey, material.ctlog.publicKey, STATE_ITEMS.ctlogKey.files.privateKey);
  expectKeyMatches(material.rekor.privateKey, material.rekor.publicKey, STATE_ITEMS.rekorKey.files.privateKey);
  return material;
}

type CertificateItem = { readonly id: string; readonly files: { readonly certificate: string } };
type KeyItem = { readonly id: string; readonly files: { readonly privateKey: string; readonly password: string } };

/** The certificate of a state item, naming the file if it does not parse. */
export function readStateCertificate(snapshot: StateSnapshot, item: CertificateItem): x509.X509Certificate {
  const pem = snapshot.file(item.id, 'certificate').toString('utf8');
  try {
    return new x509.X509Certificate(pem);
  } catch (error) {
    throw new StateError('STATE_CORRUPT', `${item.files.certificate} is not a PEM certificate: ${(error as Error).message}`);
  }
}

/** The encrypted private key of a state item and its password. */
export function readEncryptedKey(snapshot: StateSnapshot, item: KeyItem): EncryptedKey {
  return { pem: snapshot.file(item.id, 'privateKey').toString('utf8'), password: snapshot.file(item.id, 'password').toString('utf8') };
}

/** Decrypts an encrypted key from the state, naming the file if it cannot. */
export function decryptStateKey(key: EncryptedKey, path: string): KeyObject {
  try {
    return decryptPrivateKey(key.pem, key.password);
  } catch (error) {
    throw new StateError('STATE_CORRUPT', `${path} does not decrypt with its password file: ${(error as Error).message}`);
  }
}

export function certificateKey(certificate: x509.X509Certificate): KeyObject {
  return createPublicKey({ key: Buffer.from(certificate.publicKey.rawData), format: 'der', type: 'spki' });
}

function readLogKey(snapshot: StateSnapshot, item: typeof STATE_ITEMS.ctlogKey | typeof STATE_ITEMS.rekorKey): LogKey {
  const publicKeyPem = snapshot.file(item.id, 'publicKey').toString('utf8');
  let publicKey: KeyObject;
  try {
    publicKey = publicKeyFromPem(publicKeyPem);
  } catch (error) {
    throw new StateError('STATE_CORRUPT', `${item.files.publicKey} is not a PEM public key: ${(error as Error).message}`);
  }
  return {
    publicKey,
    publicKeyPem,
    privateKey: readEncryptedKey(snapshot, item),
    createdAt: new Date(snapshot.item(item.id)!.mintedAt),
  };
}

function expectKeyMatches(key: EncryptedKey, publicKey: KeyObject, path: string): void {
  if (!publicKeysEqual(publicKeyOf(decryptStateKey(key, path)), publicKey)) {
    throw new StateError('STATE_CORRUPT', `${path} is not the key of its certificate or public key`);
  }
}

async function expectSelfSigned(root: x509.X509Certificate, path: string): Promise<void> {
  const selfSigned = root.issuer === root.subject && (await root.verify({ publicKey: root.publicKey, signatureOnly: true }));
  if (!selfSigned) throw new StateError('STATE_CORRUPT', `${path} is not a self-signed root certificate`);
}

/**
 * RFC 5280 path validation of `chain` (leaf first) at the moment its first certificate was issued:
 * an old state is not corrupt because a certificate has expired since.
 */
async function expectValidChain(chain: x509.X509Certificate[], path: string): Promise<void> {
  const problem = await chainProblem(chain, chain[0].notBefore);
  if (problem) {
    throw new StateError('STATE_CORRUPT', `${path} does not chain to "${chain[chain.length - 1].subject}" (${problem})`);
  }
}
