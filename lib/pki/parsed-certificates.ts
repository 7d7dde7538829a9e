import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

/** At most this many parsed certificates are kept; a state holds a few dozen. */
const CAPACITY = 256;
const parsed = new Map<string, x509.X509Certificate>();

/**
 * The certificate a PEM text holds, parsed once per process: a synth reads each certificate of the
 * state in several places (the PKI material, the custody checks, the trusted root, the settings
 * check), and @peculiar/x509's ASN.1 parse is the slow part of each. The objects are only read, so
 * one parse serves every reader. Throws what the parser throws for text that is not a certificate.
 */
export function parsePemCertificate(pem: string): x509.X509Certificate {
  const known = parsed.get(pem);
  if (known) return known;
  const certificate = new x509.X509Certificate(pem);
  if (parsed.size >= CAPACITY) parsed.clear();
  parsed.set(pem, certificate);
  return certificate;
}
