import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

/** Parsed certificates per owner (a state snapshot): gone with it, never shared with another load. */
const parsedBy = new WeakMap<object, Map<string, x509.X509Certificate>>();

/**
 * The certificate a PEM text holds, parsed once per `owner` — the state snapshot it was read from: a
 * synth reads each certificate of the state in several places (the PKI material, the custody checks,
 * the trusted root, the settings check), and @peculiar/x509's ASN.1 parse is the slow part of each.
 * Its readers only read it. Scoping the cache to the snapshot keeps one load's objects (whose
 * `rawData` a caller could write into) away from any other load. Throws what the parser throws for
 * text that is not a certificate.
 */
export function parsePemCertificate(owner: object, pem: string): x509.X509Certificate {
  let parsed = parsedBy.get(owner);
  if (!parsed) {
    parsed = new Map();
    parsedBy.set(owner, parsed);
  }
  const known = parsed.get(pem);
  if (known) return known;
  const certificate = new x509.X509Certificate(pem);
  parsed.set(pem, certificate);
  return certificate;
}
