import { webcrypto } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import * as pkijs from 'pkijs';

type EngineParameters = ConstructorParameters<typeof pkijs.CryptoEngine>[0];
const cryptoEngine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as EngineParameters['crypto'] });

/**
 * RFC 5280 path validation of `chain` (leaf first, root last; the root is the only trust anchor) at
 * time `at`. Returns undefined when the chain is valid, else the reason.
 *
 * pkijs checks signatures, name chaining and validity periods; it does not enforce the issuers'
 * basic constraints, so this function adds RFC 5280 §6.1.4 (k)–(n): every issuer is a CA, may sign
 * certificates (keyCertSign), and its path length constraint allows the CAs below it.
 */
export async function chainProblem(chain: readonly x509.X509Certificate[], at: Date): Promise<string | undefined> {
  if (chain.length < 2) return 'a chain needs a certificate and its root';
  const certificates = chain.map((certificate) => pkijs.Certificate.fromBER(certificate.rawData));
  const engine = new pkijs.CertificateChainValidationEngine({
    trustedCerts: [certificates[certificates.length - 1]],
    // pkijs takes the LAST certificate as the end entity whose path it builds: root side first.
    certs: certificates.slice(0, -1).reverse(),
    checkDate: at,
  });
  const result = await engine.verify({}, cryptoEngine);
  if (!result.result) return result.resultMessage || `validation failed (code ${result.resultCode})`;
  return issuerConstraintProblem(chain);
}

function issuerConstraintProblem(chain: readonly x509.X509Certificate[]): string | undefined {
  // chain[i] issued chain[i-1]; the CAs below issuer i (excluding the leaf) number i - 1.
  for (let index = 1; index < chain.length; index++) {
    const issuer = chain[index];
    const constraints = issuer.getExtension(x509.BasicConstraintsExtension);
    if (!constraints?.ca) return `"${issuer.subject}" issues certificates but is not a CA`;
    const usage = issuer.getExtension(x509.KeyUsagesExtension);
    if (usage && !(usage.usages & x509.KeyUsageFlags.keyCertSign)) return `"${issuer.subject}" lacks keyCertSign`;
    const casBelow = index - 1;
    if (constraints.pathLength !== undefined && casBelow > constraints.pathLength) {
      return `"${issuer.subject}" has path length ${constraints.pathLength} but ${casBelow} CA${casBelow === 1 ? '' : 's'} below it`;
    }
  }
  return undefined;
}
