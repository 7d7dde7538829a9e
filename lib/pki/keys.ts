import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { ProcessMemo } from './process-memo';

/** The elliptic curves we mint keys on (the ones every Sigstore server and client accepts). */
export type Curve = 'P-256' | 'P-384';

const NODE_CURVE: Record<Curve, string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1' };

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function generateEcKeyPair(curve: Curve): KeyPair {
  return generateKeyPairSync('ec', { namedCurve: NODE_CURVE[curve] });
}

/** The curve of an EC key, or undefined for anything else. */
export function curveOf(key: KeyObject): Curve | undefined {
  if (key.asymmetricKeyType !== 'ec') return undefined;
  const named = key.asymmetricKeyDetails?.namedCurve;
  return (Object.keys(NODE_CURVE) as Curve[]).find((curve) => NODE_CURVE[curve] === named);
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
  const jwk = publicKey.export({ format: 'jwk' });
  if (!jwk.x || !jwk.y) throw new TypeError('subjectKeyIdentifier: only EC public keys are supported');
  const point = Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
  return createHash('sha1').update(point).digest();
}

/** Log ID of a transparency log key (RFC 6962 §3.2): SHA-256 of the DER SubjectPublicKeyInfo. */
export function logIdOf(publicKey: KeyObject): Buffer {
  return createHash('sha256').update(spkiDer(publicKey)).digest();
}
