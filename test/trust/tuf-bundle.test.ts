import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPkiMaterial } from '../../lib/pki/state-items';
import { StateStore } from '../../lib/state/store';
import { synth } from '../../lib/synth';
import { devConfig } from '../helpers/config';
import { signArtifact, verifyWithSigstore } from '../helpers/sigstore-bundle';
import { serveDirectory } from '../helpers/static-server';
import { useTempDirectory } from '../helpers/temp-directory';
import { TufTestClient } from '../helpers/tuf-client';

/*
 * End to end, as a verifier in the forge would run it: mint a state (a minute before the wall clock,
 * because `openssl ts` stamps wall-clock time), publish it, bootstrap a tuf-js client from
 * 1.root.json over HTTP, and verify a keyless bundle with @sigstore/verify against the
 * trusted_root.json the client downloaded (not the one on disk).
 */
describe('trusted_root.json from the TUF repository drives @sigstore/verify', () => {
  const temp = useTempDirectory();

  it('verifies a bundle signed with a Fulcio-style leaf and timestamped by the TSA, and rejects a changed artifact', async () => {
    const config = devConfig('tuf');
    const stateRoot = join(temp(), '.sigstore');
    const tufDir = join(temp(), 'dist', 'trust', 'tuf');
    await synth({ config, stateRoot, outDir: join(temp(), 'dist'), clock: () => new Date(Date.now() - 60_000) });
    const material = await readPkiMaterial(await new StateStore({ root: stateRoot, env: config.env }).load());

    const server = await serveDirectory(tufDir);
    try {
      const client = new TufTestClient(server.url, join(temp(), 'tuf-cache'), join(tufDir, '1.root.json'));
      const downloaded = await client.fetchTarget('trusted_root.json');
      expect(downloaded.equals(readFileSync(join(temp(), 'dist', 'trust', 'trusted_root.json')))).toBe(true);

      const trustedRoot = JSON.parse(downloaded.toString('utf8'));
      const signed = await signArtifact(material, { artifact: Buffer.from('hello, forge\n'), workDir: join(temp(), 'tsa') });
      expect(() => verifyWithSigstore(trustedRoot, signed)).not.toThrow();
      expect(() => verifyWithSigstore(trustedRoot, { ...signed, artifact: Buffer.from('hello, attacker\n') })).toThrow(
        expect.objectContaining({ code: 'SIGNATURE_ERROR' }),
      );
    } finally {
      await server.close();
    }
  });
});
