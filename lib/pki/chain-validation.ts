import { KEY_USAGE, type Certificate } from './certificate';

/**
 * Path validation of `chain` (leaf first, root last; the root is the only trust anchor) at time `at`.
 * Returns undefined when the chain is valid, else the reason.
 *
 * Each link is checked by OpenSSL through node:crypto (`checkIssued`: issuer and subject names and
 * the key identifiers chain, and a key usage, if present, allows keyCertSign; `verify`: the
 * signature under the issuer's key), each certificate's validity period contains `at`, and RFC 5280
 * §6.1.4 (k)–(n) are enforced on every issuer: it is a CA, may sign certificates (keyCertSign), and
 * its path length constraint allows the CAs below it. (pkijs's validation engine did the same checks
 * at several times the cost of a whole warm synth's other certificate work; the chains are still
 * verified independently by `openssl verify` in the tests.)
 */
export async function chainProblem(chain: readonly Certificate[], at: Date): Promise<string | undefined> {
  if (chain.length < 2) return 'a chain needs a certificate and its root';
  const constraintProblem = issuerConstraintProblem(chain);
  if (constraintProblem) return constraintProblem;
  for (let index = 0; index + 1 < chain.length; index++) {
    const subject = `"${chain[index].subject}"`;
    const issuer = `"${chain[index + 1].subject}"`;
    if (!chain[index].checkIssued(chain[index + 1])) return `${subject} was not issued by ${issuer} (names, key identifiers or key usage do not chain)`;
    if (!chain[index].verify(chain[index + 1].publicKey)) return `the signature of ${subject} does not verify with the key of ${issuer}`;
  }
  for (const certificate of chain) {
    if (at.getTime() < certificate.notBefore.getTime()) return `"${certificate.subject}" is not valid before ${certificate.notBefore.toISOString()}`;
    if (at.getTime() > certificate.notAfter.getTime()) return `"${certificate.subject}" expired ${certificate.notAfter.toISOString()}`;
  }
  return undefined;
}

function issuerConstraintProblem(chain: readonly Certificate[]): string | undefined {
  // chain[i] issued chain[i-1]; the CAs below issuer i (excluding the leaf) number i - 1.
  for (let index = 1; index < chain.length; index++) {
    const issuer = chain[index];
    const constraints = issuer.basicConstraints;
    if (!constraints?.ca) return `"${issuer.subject}" issues certificates but is not a CA`;
    if (issuer.keyUsage !== undefined && !(issuer.keyUsage & KEY_USAGE.keyCertSign)) return `"${issuer.subject}" lacks keyCertSign`;
    const casBelow = index - 1;
    if (constraints.pathLength !== undefined && casBelow > constraints.pathLength) {
      return `"${issuer.subject}" has path length ${constraints.pathLength} but ${casBelow} CA${casBelow === 1 ? '' : 's'} below it`;
    }
  }
  return undefined;
}
