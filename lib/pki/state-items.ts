import type { KeyObject } from 'node:crypto';
import type { Certificate } from './certificate';
import { parsePemCertificate } from './parsed-certificates';
import { StateError } from '../errors';
import type { StateSnapshot } from '../state/store';
import { chainProblem } from './chain-validation';
import { activeGeneration, generationItem, generationsOf, type GenerationalItem, type Generation } from '../lifecycle/generations';
import { readLogMigrations, type LogMigration } from '../lifecycle/log-migrations';
import { decryptPrivateKey, publicKeyFromPem, publicKeyOf, publicKeysEqual, spkiDer } from './keys';
import { digestOf, ProcessMemo } from './process-memo';
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

/** One generation of a certificate item (lib/lifecycle/generations.ts), public parts only. */
export interface CertificateGeneration {
  readonly generation: number;
  /** State path of the certificate. */
  readonly path: string;
  readonly certificate: Certificate;
  /** When servers switch to it; undefined for generation 1. */
  readonly activeFrom?: Date;
  /** End of its trusted_root.json validFor, set by the next generation; undefined for the newest. */
  readonly validUntil?: Date;
  /** The issuing item's generation (intermediates, the TSA leaf). */
  readonly issuerGeneration?: number;
}

/** One generation of a log key, public parts only. */
export interface LogKeyGeneration {
  readonly generation: number;
  readonly publicKey: KeyObject;
  /** When the key was minted: the start of its validity in trusted_root.json. */
  readonly createdAt: Date;
  readonly activeFrom?: Date;
  readonly validUntil?: Date;
}

/** Every generation of the public trust material, ascending: what trusted_root.json and the TUF targets publish. */
export interface TrustHistory {
  readonly fulcioRoots: readonly CertificateGeneration[];
  readonly fulcioIntermediates: readonly CertificateGeneration[];
  readonly tsaRoots: readonly CertificateGeneration[];
  readonly tsaIntermediates: readonly CertificateGeneration[];
  readonly tsaLeaves: readonly CertificateGeneration[];
  readonly ctlogKeys: readonly LogKeyGeneration[];
  readonly rekorKeys: readonly LogKeyGeneration[];
}

/**
 * The minted trust material of one environment, verified: the generation of each item that servers
 * use at the chosen time (the top-level fields), and every generation's public parts (`history`).
 * Public parts and secrets are separate fields.
 */
export interface PkiMaterial {
  readonly fulcio: {
    readonly root: Certificate;
    readonly intermediate: Certificate;
    /** The intermediate's key, which Fulcio signs leaf certificates with. */
    readonly intermediateKey: EncryptedKey;
  };
  readonly tsa: {
    readonly root: Certificate;
    readonly intermediate: Certificate;
    readonly leaf: Certificate;
    /** The leaf's key, which the TSA signs timestamps with. */
    readonly leafKey: EncryptedKey;
  };
  readonly ctlog: LogKey;
  readonly rekor: LogKey;
  /** The keys of the tile-based logs (Rekor v2, TesseraCT), minted only for environments that run them (tile-log-keys.ts). @default - none */
  readonly tileLogs?: TileLogKeys;
  /**
   * The migrations from a Trillian-backed log to a tile-based one (`rotate rekor-log | ct-log`), each
   * with whether its cut-over has come at the chosen time (lib/lifecycle/log-migrations.ts). @default - none
   */
  readonly logMigrations?: { readonly rekor?: MaterialLogMigration; readonly ctlog?: MaterialLogMigration };
  /** The generation of each item the fields above hold. */
  readonly activeGenerations: Readonly<Record<GenerationalItem, number>>;
  /**
   * The roots whose validFor has not ended at the chosen time, oldest first: during a root rotation's
   * overlap both (the CT log accepts pre-certificates from both; verifiers trust both).
   */
  readonly rootsInUse: { readonly fulcio: readonly Certificate[]; readonly tsa: readonly Certificate[] };
  /** The log key generations before the active one, oldest first: the frozen shards Rekor still serves (and signs for). */
  readonly inactiveLogKeys: { readonly rekor: readonly (LogKey & { readonly generation: number })[]; readonly ctlog: readonly (LogKey & { readonly generation: number })[] };
  readonly history: TrustHistory;
}

/** A log migration, and whether its cut-over has come at the time the material was read for. */
export type MaterialLogMigration = LogMigration & { readonly cutOverReached: boolean };

export function missingItems(snapshot: StateSnapshot): string[] {
  return REQUIRED_ITEMS.filter((item) => !snapshot.item(item.id)).map((item) => item.id);
}

export interface ReadPkiOptions {
  /** The time whose active generations the material holds (what servers load then). @default - now */
  readonly at?: Date;
}

/**
 * Reads the material from a complete state and checks that every generation fits together: every
 * key decrypts with its password and matches its certificate or public key, and every certificate is
 * signed by its issuer (the generation the state records). Throws a StateError that names what is wrong.
 */
export async function readPkiMaterial(snapshot: StateSnapshot, options: ReadPkiOptions = {}): Promise<PkiMaterial> {
  const missing = missingItems(snapshot);
  if (missing.length > 0) {
    throw new StateError('STATE_INCOMPLETE', `state for "${snapshot.env}" lacks ${missing.join(', ')}; run "sigstore-cdk bootstrap --env ${snapshot.env}"`);
  }
  const at = options.at ?? new Date();
  const certificates = (item: GenerationalItem): CertificateGeneration[] =>
    generationsOf(snapshot, item).map((generation) => ({
      generation: generation.generation,
      path: generation.files.certificate,
      certificate: readStateCertificate(snapshot, { id: generation.itemId, files: { certificate: generation.files.certificate } }),
      ...(generation.activeFrom ? { activeFrom: generation.activeFrom } : {}),
      ...(generation.validUntil ? { validUntil: generation.validUntil } : {}),
      ...(generation.issuerGeneration ? { issuerGeneration: generation.issuerGeneration } : {}),
    }));
  const checkKeys = privateKeysReadable(snapshot);
  const expectKeyMatches = (key: EncryptedKey, publicKey: KeyObject, path: string) => {
    if (checkKeys) expectPrivateKeyMatches(key, publicKey, path);
  };
  const keyOf = (item: GenerationalItem, generation: number) => {
    const { id, files } = generationItem(item, generation);
    return readEncryptedKey(snapshot, { id, files: { privateKey: files.privateKey, password: files.password } });
  };
  const history = {
    fulcioRoots: certificates('fulcio-root'),
    fulcioIntermediates: certificates('fulcio-intermediate'),
    tsaRoots: certificates('tsa-root'),
    tsaIntermediates: certificates('tsa-intermediate'),
    tsaLeaves: certificates('tsa-leaf'),
  };
  const logKeys = (item: 'ctlog-key' | 'rekor-key') => generationsOf(snapshot, item).map((generation) => readLogKey(snapshot, generation));
  const ctlogKeys = logKeys('ctlog-key');
  const rekorKeys = logKeys('rekor-key');

  // Every generation: roots self-signed, each certificate chains to the generation that issued it, each key matches.
  const issuer = (list: readonly CertificateGeneration[], entry: CertificateGeneration) => {
    const found = list.find((candidate) => candidate.generation === (entry.issuerGeneration ?? 1));
    if (!found) throw new StateError('STATE_CORRUPT', `${entry.path} names issuer generation ${entry.issuerGeneration}, which the state lacks`);
    return found;
  };
  for (const root of [...history.fulcioRoots, ...history.tsaRoots]) await expectSelfSigned(root.certificate, root.path);
  for (const entry of history.fulcioIntermediates) {
    await expectValidChain([entry.certificate, issuer(history.fulcioRoots, entry).certificate], entry.path);
    expectKeyMatches(keyOf('fulcio-intermediate', entry.generation), certificateKey(entry.certificate), generationItem('fulcio-intermediate', entry.generation).files.privateKey);
  }
  for (const entry of history.tsaIntermediates) {
    await expectValidChain([entry.certificate, issuer(history.tsaRoots, entry).certificate], entry.path);
    expectKeyMatches(keyOf('tsa-intermediate', entry.generation), certificateKey(entry.certificate), generationItem('tsa-intermediate', entry.generation).files.privateKey);
  }
  for (const entry of history.tsaLeaves) {
    const intermediate = issuer(history.tsaIntermediates, entry);
    await expectValidChain([entry.certificate, intermediate.certificate, issuer(history.tsaRoots, intermediate).certificate], entry.path);
    expectKeyMatches(keyOf('tsa-leaf', entry.generation), certificateKey(entry.certificate), generationItem('tsa-leaf', entry.generation).files.privateKey);
  }
  for (const [item, keys] of [['ctlog-key', ctlogKeys], ['rekor-key', rekorKeys]] as const) {
    for (const key of keys) expectKeyMatches(key.privateKey, key.publicKey, generationItem(item, key.generation).files.privateKey);
  }

  const activeIndex = (item: GenerationalItem) => activeGeneration(generationsOf(snapshot, item), at).generation - 1;
  const active = (list: readonly CertificateGeneration[], item: GenerationalItem) => list[activeIndex(item)];
  const fulcioIntermediate = active(history.fulcioIntermediates, 'fulcio-intermediate');
  const tsaLeaf = active(history.tsaLeaves, 'tsa-leaf');
  const tsaIntermediate = issuer(history.tsaIntermediates, tsaLeaf);
  const activeGenerations = Object.fromEntries(
    (['fulcio-root', 'fulcio-intermediate', 'tsa-root', 'tsa-intermediate', 'tsa-leaf', 'ctlog-key', 'rekor-key'] as const).map((item) => [item, activeIndex(item) + 1]),
  ) as Record<GenerationalItem, number>;
  return {
    fulcio: {
      // The chain servers load: the active intermediate and the root that issued it.
      root: issuer(history.fulcioRoots, fulcioIntermediate).certificate,
      intermediate: fulcioIntermediate.certificate,
      intermediateKey: keyOf('fulcio-intermediate', fulcioIntermediate.generation),
    },
    tsa: {
      root: issuer(history.tsaRoots, tsaIntermediate).certificate,
      intermediate: tsaIntermediate.certificate,
      leaf: tsaLeaf.certificate,
      leafKey: keyOf('tsa-leaf', tsaLeaf.generation),
    },
    ctlog: ctlogKeys[activeIndex('ctlog-key')],
    rekor: rekorKeys[activeIndex('rekor-key')],
    tileLogs: readTileLogKeys(snapshot),
    logMigrations: Object.fromEntries(
      Object.entries(readLogMigrations(snapshot)).map(([log, migration]) => [log, { ...migration, cutOverReached: migration.activeFrom.getTime() <= at.getTime() }]),
    ),
    activeGenerations,
    rootsInUse: { fulcio: rootsInUse(history.fulcioRoots, at), tsa: rootsInUse(history.tsaRoots, at) },
    inactiveLogKeys: { rekor: rekorKeys.slice(0, activeIndex('rekor-key')), ctlog: ctlogKeys.slice(0, activeIndex('ctlog-key')) },
    history: {
      ...history,
      ctlogKeys: ctlogKeys.map(publicLogKey),
      rekorKeys: rekorKeys.map(publicLogKey),
    },
  };
}

/** The roots whose validFor has not ended at `at` (every generation up to the newest, including one not active yet). */
function rootsInUse(roots: readonly CertificateGeneration[], at: Date): Certificate[] {
  return roots.filter((root) => !root.validUntil || root.validUntil.getTime() > at.getTime()).map((root) => root.certificate);
}

function publicLogKey(key: LogKey & { generation: number; activeFrom?: Date; validUntil?: Date }): LogKeyGeneration {
  return {
    generation: key.generation,
    publicKey: key.publicKey,
    createdAt: key.createdAt,
    ...(key.activeFrom ? { activeFrom: key.activeFrom } : {}),
    ...(key.validUntil ? { validUntil: key.validUntil } : {}),
  };
}

type CertificateItem = { readonly id: string; readonly files: { readonly certificate: string } };
type KeyItem = { readonly id: string; readonly files: { readonly privateKey: string; readonly password: string } };

/** The certificate of a state item, naming the file if it does not parse. */
export function readStateCertificate(snapshot: StateSnapshot, item: CertificateItem): Certificate {
  const pem = snapshot.file(item.id, 'certificate').toString('utf8');
  try {
    return parsePemCertificate(snapshot, pem);
  } catch (error) {
    throw new StateError('STATE_CORRUPT', `${item.files.certificate} is not a PEM certificate: ${(error as Error).message}`);
  }
}

/**
 * The encrypted private key of a state item and its password. The password is read when it is used:
 * in a state whose passwords are sealed under a KMS data key it opens only once a command that needs
 * it has opened the data key (lib/custody/state-keyring.ts); commands that only read never touch it.
 */
export function readEncryptedKey(snapshot: StateSnapshot, item: KeyItem): EncryptedKey {
  const pem = snapshot.file(item.id, 'privateKey').toString('utf8');
  return {
    pem,
    get password(): string {
      return snapshot.file(item.id, 'password').toString('utf8');
    },
  };
}

/**
 * Whether the private keys can be checked against their certificates: not in a state whose passwords
 * are sealed and not opened (verify, which decrypts nothing; custody checks the sealed files instead).
 */
export function privateKeysReadable(snapshot: StateSnapshot): boolean {
  return !snapshot.passwordsSealed || snapshot.passwordsOpen;
}

/** Decrypts an encrypted key from the state, naming the file if it cannot. */
export function decryptStateKey(key: EncryptedKey, path: string): KeyObject {
  try {
    return decryptPrivateKey(key.pem, key.password);
  } catch (error) {
    throw new StateError('STATE_CORRUPT', `${path} does not decrypt with its password file: ${(error as Error).message}`);
  }
}

/** The certified public key of a certificate. */
export function certificateKey(certificate: Certificate): KeyObject {
  return certificate.publicKey;
}

function readLogKey(snapshot: StateSnapshot, generation: Generation): LogKey & { generation: number; activeFrom?: Date; validUntil?: Date } {
  const publicKeyPath = generation.files.publicKey;
  const publicKeyPem = snapshot.file(generation.itemId, 'publicKey').toString('utf8');
  let publicKey: KeyObject;
  try {
    publicKey = publicKeyFromPem(publicKeyPem);
  } catch (error) {
    throw new StateError('STATE_CORRUPT', `${publicKeyPath} is not a PEM public key: ${(error as Error).message}`);
  }
  return {
    generation: generation.generation,
    publicKey,
    publicKeyPem,
    privateKey: readEncryptedKey(snapshot, { id: generation.itemId, files: { privateKey: generation.files.privateKey, password: generation.files.password } }),
    createdAt: new Date(snapshot.item(generation.itemId)!.mintedAt),
    ...(generation.activeFrom ? { activeFrom: generation.activeFrom } : {}),
    ...(generation.validUntil ? { validUntil: generation.validUntil } : {}),
  };
}

/** Key files found to hold their certificate's key, by the digest of the file, its password and the public key. */
const matchingKeyFiles = new ProcessMemo<true>(1024);

function expectPrivateKeyMatches(key: EncryptedKey, publicKey: KeyObject, path: string): void {
  // Decrypting costs a key derivation and a parse: once per process for the same bytes (a command that
  // reads the state twice, a test worker that reads one fixture state a hundred times).
  matchingKeyFiles.get(digestOf(key.pem, key.password, spkiDer(publicKey)), () => {
    if (!publicKeysEqual(publicKeyOf(decryptStateKey(key, path)), publicKey)) {
      throw new StateError('STATE_CORRUPT', `${path} is not the key of its certificate or public key`);
    }
    return true;
  });
}

async function expectSelfSigned(root: Certificate, path: string): Promise<void> {
  // OpenSSL through node:crypto, in one synchronous call.
  const selfSigned = root.issuer === root.subject && root.verify(root.publicKey);
  if (!selfSigned) throw new StateError('STATE_CORRUPT', `${path} is not a self-signed root certificate`);
}

/**
 * RFC 5280 path validation of `chain` (leaf first) at the moment its first certificate was issued:
 * an old state is not corrupt because a certificate has expired since.
 */
async function expectValidChain(chain: Certificate[], path: string): Promise<void> {
  const problem = await chainProblem(chain, chain[0].notBefore);
  if (problem) {
    throw new StateError('STATE_CORRUPT', `${path} does not chain to "${chain[chain.length - 1].subject}" (${problem})`);
  }
}
