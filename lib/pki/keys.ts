import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { childrenOf, expectTag, readBitString, readOid, readWhole, TAG } from './der';
import { ProcessMemo } from './process-memo';

/** The elliptic curves we mint keys on (the ones every Sigstore server and client accepts). */
export type Curve = 'P-256' | 'P-384';

/** Our curves: OpenSSL's name (how Node generates a key on it) and the OID an EC SubjectPublicKeyInfo names it by (RFC 5480 §2.1.1.1). */
const CURVES: Record<Curve, { readonly name: string; readonly oid: string }> = {
  'P-256': { name: 'prime256v1', oid: '1.2.840.10045.3.1.7' },
  'P-384': { name: 'secp384r1', oid: '1.3.132.0.34' },
};
/** Other named curves' OIDs, only to name a refused key in a message. */
const OTHER_CURVE_NAMES: Record<string, string> = { '1.3.132.0.35': 'secp521r1', '1.3.132.0.10': 'secp256k1' };
/** id-ecPublicKey (RFC 5480 §2.1.1). */
const EC_PUBLIC_KEY_OID = '1.2.840.10045.2.1';

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function generateEcKeyPair(curve: Curve): KeyPair {
  return generateKeyPairSync('ec', { namedCurve: CURVES[curve].name });
}

/*
 * What this module reads of a key comes from its DER SubjectPublicKeyInfo, never from Node's JWK
 * export or `asymmetricKeyDetails`. Those hold the key's lock while they allocate on the V8 heap;
 * when that allocation runs a GC which finalizes the job generateKeyPairSync left behind (it shares
 * the lock and takes it in its destructor), the process deadlocks. Node 20.20.2 hung that way in
 * `npm test` (a worker stopped inside ExportJWKEcKey → GC → ~KeyGenJob → mutex lock), and a loop of
 * generateKeyPairSync + export({ format: 'jwk' }) hangs within seconds under
 * `node --stress-compaction`. DER export takes no lock while allocating (test/test-hygiene.test.ts
 * keeps lib/ and the test helpers off the other two; test/pki/key-reading.test.ts checks the answers).
 */

/** What the PKI reads of a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7). */
interface PublicKeyInfo {
  /** For an EC key (AlgorithmIdentifier id-ecPublicKey), its named curve's OID (the algorithm's parameters). */
  readonly curveOid?: string;
  /** The subjectPublicKey BIT STRING's bits: an EC point as the key encodes it, an Ed25519 key's 32 bytes. */
  readonly subjectPublicKey: Buffer;
}

const publicKeyInfos = new WeakMap<KeyObject, PublicKeyInfo>();

function publicKeyInfo(key: KeyObject): PublicKeyInfo {
  let info = publicKeyInfos.get(key);
  if (!info) {
    const publicKey = key.type === 'private' ? publicKeyOf(key) : key;
    const [algorithmIdentifier, subjectPublicKey] = childrenOf(expectTag(readWhole(spkiDer(publicKey)), TAG.sequence, 'SubjectPublicKeyInfo'));
    const [algorithm, parameters] = childrenOf(expectTag(algorithmIdentifier, TAG.sequence, 'algorithm'));
    info = {
      curveOid: readOid(algorithm) === EC_PUBLIC_KEY_OID && parameters?.tag === TAG.oid ? readOid(parameters) : undefined,
      subjectPublicKey: readBitString(subjectPublicKey).bits,
    };
    publicKeyInfos.set(key, info);
  }
  return info;
}

/** The curve of an EC key (public or private), or undefined for anything else. */
export function curveOf(key: KeyObject): Curve | undefined {
  if (key.asymmetricKeyType !== 'ec') return undefined;
  const oid = publicKeyInfo(key).curveOid;
  return (Object.keys(CURVES) as Curve[]).find((curve) => CURVES[curve].oid === oid);
}

/** What kind of key `key` is, for a message: `ec prime256v1`, `ec secp521r1`, `ed25519`, `rsa`. */
export function keyKindOf(key: KeyObject): string {
  if (key.asymmetricKeyType !== 'ec') return String(key.asymmetricKeyType ?? key.type);
  const oid = publicKeyInfo(key).curveOid;
  if (oid === undefined) return 'ec with explicit curve parameters';
  const curve = curveOf(key);
  return `ec ${curve ? CURVES[curve].name : (OTHER_CURVE_NAMES[oid] ?? `curve ${oid}`)}`;
}

/** A fresh password for one private key: 32 random bytes, base64url (safe in flags, env and text-proto). */
export function newKeyPassword(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Encrypts an EC private key the one way every server we deploy reads it: legacy OpenSSL PEM
 * encryption (`Proc-Type: 4,ENCRYPTED`, AES-256-CBC) of a SEC1 `EC PRIVATE KEY`. PKCS#8
 * encryption breaks Fulcio < 1.8.8, TSA < 2.1.3 and every ct_server (reference/key-formats.md).
 */
export function encryptPrivateKey(privateKey: KeyObject, password: string): string {
  if (privateKey.asymmetricKeyType !== 'ec') throw new TypeError('only EC private keys are supported');
  return privateKey.export({ type: 'sec1', format: 'pem', cipher: 'aes-256-cbc', passphrase: password }) as string;
}

/** Decrypts a key written by encryptPrivateKey (throws on a wrong password or a damaged file). */
export function decryptPrivateKey(pem: string | Buffer, password: string): KeyObject {
  return createPrivateKey({ key: pem, format: 'pem', passphrase: password });
}

export function publicKeyOf(privateKey: KeyObject): KeyObject {
  return createPublicKey(privateKey);
}

/** DER SubjectPublicKeyInfo. */
/** SPKI DER of each key already exported in this process: custody checks compare the same keys many times. */
const spkiOf = new WeakMap<KeyObject, Buffer>();

export function spkiDer(publicKey: KeyObject): Buffer {
  let der = spkiOf.get(publicKey);
  if (!der) {
    der = publicKey.export({ type: 'spki', format: 'der' });
    spkiOf.set(publicKey, der);
  }
  // A copy: a caller may write into the buffer it gets; KeyObjects themselves are immutable.
  return Buffer.from(der);
}

/** PEM `PUBLIC KEY` (SubjectPublicKeyInfo), the form Rekor, the CT log and clients read. */
export function publicKeyPem(publicKey: KeyObject): string {
  return publicKey.export({ type: 'spki', format: 'pem' }) as string;
}

/** Public keys read from PEM in this process, by the text (KeyObjects are immutable). */
const publicKeysByPem = new ProcessMemo<KeyObject>(1024);

export function publicKeyFromPem(pem: string | Buffer): KeyObject {
  const text = typeof pem === 'string' ? pem : pem.toString('utf8');
  return publicKeysByPem.get(text, () => createPublicKey({ key: text, format: 'pem' }));
}

/** SHA-256 (hex) of the DER SubjectPublicKeyInfo: how the manifest pins a root key and the ceremony log names one. */
export function spkiSha256(publicKey: KeyObject): string {
  return createHash('sha256').update(spkiDer(publicKey)).digest('hex');
}

export function publicKeysEqual(a: KeyObject, b: KeyObject): boolean {
  // OpenSSL's comparison of the two keys (EVP_PKEY_eq), without exporting either.
  return a === b || a.equals(b);
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING contents. */
export function subjectKeyIdentifier(publicKey: KeyObject): Buffer {
  if (publicKey.asymmetricKeyType !== 'ec') throw new TypeError('subjectKeyIdentifier: only EC public keys are supported');
  return createHash('sha1').update(publicKeyInfo(publicKey).subjectPublicKey).digest();
}

/** The raw 32-byte Ed25519 public key (the SubjectPublicKeyInfo's BIT STRING contents, RFC 8410 §4). */
export function rawEd25519PublicKey(publicKey: KeyObject): Buffer {
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new TypeError('expected an Ed25519 public key');
  return Buffer.from(publicKeyInfo(publicKey).subjectPublicKey);
}

/** Log ID of a transparency log key (RFC 6962 §3.2): SHA-256 of the DER SubjectPublicKeyInfo. */
export function logIdOf(publicKey: KeyObject): Buffer {
  return createHash('sha256').update(spkiDer(publicKey)).digest();
}
