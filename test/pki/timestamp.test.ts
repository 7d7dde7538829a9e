import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootstrap } from '../../lib/pki/bootstrap';
import { LocalRootKeys } from '../../lib/pki/root-keys';
import { readPkiMaterial, type PkiMaterial } from '../../lib/pki/state-items';
import { StateStore } from '../../lib/state/store';
import { configFromYaml } from '../helpers/config';
import { openssl, opensslOk } from '../helpers/openssl';
import { TSA_POLICY_OID, opensslTimestamp } from '../helpers/sigstore-bundle';
import { useTempDirectory } from '../helpers/temp-directory';

async function mint(directory: string): Promise<PkiMaterial> {
  const config = configFromYaml('organization: TSA Test Org\n', 'tsa');
  const store = new StateStore({ root: join(directory, '.sigstore'), env: 'tsa' });
  // openssl stamps with the wall clock: mint a minute in the past so genTime is inside every validity.
  await bootstrap({ config, store, rootKeys: new LocalRootKeys(), clock: () => new Date(Date.now() - 60_000) });
  return readPkiMaterial(await store.load());
}

describe('RFC 3161 timestamps with the minted TSA chain (openssl ts)', () => {
  const temp = useTempDirectory();

  it('a response signed by the TSA leaf verifies against the TSA root, and not against another root', async () => {
    const material = await mint(join(temp(), 'a'));
    const work = join(temp(), 'ts');
    opensslTimestamp(material, Buffer.from('artifact signature bytes'), work);
    writeFileSync(join(work, 'root.pem'), material.tsa.root.toString('pem'));
    writeFileSync(join(work, 'untrusted.pem'), `${material.tsa.intermediate.toString('pem')}\n${material.tsa.leaf.toString('pem')}\n`);

    const verify = (rootFile: string) =>
      openssl(['ts', '-verify', '-queryfile', join(work, 'request.tsq'), '-in', join(work, 'response.tsr'), '-CAfile', rootFile, '-untrusted', join(work, 'untrusted.pem')]);
    const verified = verify(join(work, 'root.pem'));
    expect(verified.stderr + verified.stdout).toContain('Verification: OK');
    expect(verified.status).toBe(0);

    const text = opensslOk(['ts', '-reply', '-in', join(work, 'response.tsr'), '-text']);
    expect(text).toContain('Status: Granted.');
    expect(text).toContain(`Policy OID: ${TSA_POLICY_OID}`);
    expect(text).toContain('Hash Algorithm: sha256');

    const other = await mint(join(temp(), 'b'));
    writeFileSync(join(work, 'other-root.pem'), other.tsa.root.toString('pem'));
    const refused = verify(join(work, 'other-root.pem'));
    expect(refused.status).not.toBe(0);
    expect(refused.stderr + refused.stdout).toContain('Verification: FAILED');
  });

  it('openssl refuses to issue timestamps with a certificate lacking the critical timeStamping EKU', async () => {
    // The control: the Fulcio intermediate (EKU codeSigning, not critical) is not a TSA certificate.
    const material = await mint(join(temp(), 'a'));
    const impostor: PkiMaterial = { ...material, tsa: { ...material.tsa, leaf: material.fulcio.intermediate, leafKey: material.fulcio.intermediateKey } };
    expect(() => opensslTimestamp(impostor, Buffer.from('x'), join(temp(), 'ts'))).toThrow(/invalid signer certificate purpose|certificate purpose/);
  });
});
