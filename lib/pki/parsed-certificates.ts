import { Certificate } from './certificate';
import { ProcessMemo } from './process-memo';

/** Certificates parsed in this process, by their PEM text. */
const parsed = new ProcessMemo<Certificate>(512);

/**
 * The certificate a PEM text holds, parsed once per process: a synth reads each certificate of the
 * state in several places (the PKI material, the custody checks, the trusted root, the settings
 * check), and a Certificate is read only (its verify() answers are per key, and a function of the
 * bytes; its byte fields are never written into: see Certificate). Keyed by the text itself, so a file that changed is parsed anew. Parsed by
 * lib/pki/certificate.ts (node:crypto and a DER reader). Throws what the parser throws for text that is not a certificate (and parses it again next
 * time). `owner` is the snapshot the text was read from (kept for the callers; not part of the key).
 */
export function parsePemCertificate(_owner: object, pem: string): Certificate {
  return parsed.get(pem, () => Certificate.fromPem(pem));
}
