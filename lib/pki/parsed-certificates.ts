import { Certificate } from './certificate';

/** Parsed certificates per owner (a state snapshot): gone with it, never shared with another load. */
const parsedBy = new WeakMap<object, Map<string, Certificate>>();

/**
 * The certificate a PEM text holds, parsed once per `owner` — the state snapshot it was read from: a
 * synth reads each certificate of the state in several places (the PKI material, the custody checks,
 * the trusted root, the settings check). Parsed by lib/pki/certificate.ts (node:crypto and a DER
 * reader), never by @peculiar/x509, which only minting loads. Throws what the parser throws for
 * text that is not a certificate.
 */
export function parsePemCertificate(owner: object, pem: string): Certificate {
  let parsed = parsedBy.get(owner);
  if (!parsed) {
    parsed = new Map();
    parsedBy.set(owner, parsed);
  }
  const known = parsed.get(pem);
  if (known) return known;
  const certificate = Certificate.fromPem(pem);
  parsed.set(pem, certificate);
  return certificate;
}
