import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SigstoreConfig } from '../../lib/config/schema';
import { synth } from '../../lib/synth';
import { runTufRefresh } from '../../lib/tuf-refresh';
import { setWallClock } from '../helpers/fake-date';
import { copyFixtureState, FIXTURE_CLOCK, fixtureConfig } from '../helpers/fixture-state';
import { serveDirectory, type StaticServer } from '../helpers/static-server';
import { useTempDirectory } from '../helpers/temp-directory';
import { TufTestClient } from '../helpers/tuf-client';

/*
 * tuf-js (the client sigstore-js uses) against the repository as synth publishes it, served over
 * loopback HTTP. The fixture state's repository was signed at 2026-01-01: timestamp valid until
 * 01-15 (due for refresh from 01-05), snapshot until 03-02, targets until 06-30, root until 2027-01-01.
 * tuf-js judges expiry by `new Date()`, so each step sets the wall clock.
 */
describe('tuf-js client against the published repository', () => {
  const temp = useTempDirectory();
  let stateRoot: string;
  let server: StaticServer;
  let config: SigstoreConfig;

  const tufDir = () => join(temp(), 'dist', 'trust', 'tuf');
  const publish = (clock = FIXTURE_CLOCK) => synth({ config, stateRoot, outDir: join(temp(), 'dist'), clock });
  const refresh = (iso: string) => runTufRefresh({ config, stateRoot, clock: () => new Date(iso) });
  const newClient = (name = 'client') => new TufTestClient(server.url, join(temp(), name), join(tufDir(), '1.root.json'));

  beforeEach(async () => {
    config = fixtureConfig();
    stateRoot = copyFixtureState(temp());
    await publish();
    server = await serveDirectory(tufDir());
  });
  afterEach(async () => {
    jest.useRealTimers();
    await server.close();
  });

  it('bootstraps from 1.root.json and downloads trusted_root.json with the bytes of the state', async () => {
    setWallClock('2026-01-02T00:00:00Z');
    const client = newClient();
    const trustedRoot = await client.fetchTarget('trusted_root.json');
    expect(trustedRoot.equals(readFileSync(join(temp(), 'dist', 'trust', 'trusted_root.json')))).toBe(true);
    const stateTarget = readFileSync(join(stateRoot, 'test', 'tuf', 'repository', 'targets', `${sha256(trustedRoot)}.trusted_root.json`));
    expect(trustedRoot.equals(stateTarget)).toBe(true);

    // Consistent snapshots: versioned metadata and hash-prefixed targets, nothing unversioned but timestamp.json.
    expect(server.requests).toEqual(['/2.root.json', '/timestamp.json', '/1.snapshot.json', '/1.targets.json', `/targets/${sha256(trustedRoot)}.trusted_root.json`]);

    const updater = client.updater();
    await updater.refresh();
    const signingConfig = await updater.getTargetInfo('signing_config.v0.2.json');
    expect(signingConfig?.custom).toEqual({});
    expect((await updater.getTargetInfo('ctfe.pub'))?.custom).toEqual({
      sigstore: { usage: 'CTFE', status: 'Active', uri: 'http://ctlog.sigstore-system.svc/sigstore' },
    });
    expect((await updater.getTargetInfo('tsa_leaf.crt.pem'))?.custom).toMatchObject({ sigstore: { usage: 'TSA', status: 'Active' } });
  });

  it('a client holding old metadata follows every refresh: timestamp, new targets, then a new root', async () => {
    setWallClock('2026-01-02T00:00:00Z');
    const client = newClient();
    await client.fetchTarget('trusted_root.json');

    // 01-10: only the timestamp is due.
    const timestampOnly = await refresh('2026-01-10T00:00:00Z');
    expect(timestampOnly.published.map((entry) => `${entry.role} v${entry.version}`)).toEqual(['timestamp v2']);
    await publish();
    setWallClock('2026-01-10T00:00:00Z');
    server.requests.length = 0;
    await client.fetchTarget('trusted_root.json');
    expect(server.requests).toEqual(['/2.root.json', '/timestamp.json']); // snapshot v1 and the target are cached

    // 01-11: the Fulcio hostname changes, so trusted_root.json and the signing config change.
    config = fixtureConfig('services:\n  fulcio: { hostname: fulcio.example.com }\n');
    const newTargets = await refresh('2026-01-11T00:00:00Z');
    expect(newTargets.published.map((entry) => `${entry.role} v${entry.version}`)).toEqual(['targets v2', 'snapshot v2', 'timestamp v3']);
    await publish();
    setWallClock('2026-01-11T00:00:00Z');
    const trustedRoot = JSON.parse((await client.fetchTarget('trusted_root.json')).toString('utf8'));
    expect(trustedRoot.certificateAuthorities[0].uri).toBe('https://fulcio.example.com');
    const signingConfig = JSON.parse((await client.fetchTarget('signing_config.v0.2.json')).toString('utf8'));
    expect(signingConfig.caUrls[0].url).toBe('https://fulcio.example.com');

    // 2026-10-15: the root is inside its 90-day window (and everything else has expired): all re-signed.
    const everything = await refresh('2026-10-15T00:00:00Z');
    expect(everything.published.map((entry) => `${entry.role} v${entry.version}`)).toEqual(['root v2', 'targets v3', 'snapshot v3', 'timestamp v4']);
    await publish();
    setWallClock('2026-10-15T00:00:00Z');
    server.requests.length = 0;
    await client.fetchTarget('trusted_root.json');
    expect(server.requests.slice(0, 3)).toEqual(['/2.root.json', '/3.root.json', '/timestamp.json']);
    expect(JSON.parse(readFileSync(join(client.metadataDir, 'root.json'), 'utf8')).signed.version).toBe(2);

    // A brand-new client still starts from 1.root.json and walks to v2.
    expect((await newClient('fresh').fetchTarget('trusted_root.json')).toString('utf8')).toContain('https://fulcio.example.com');
  });

  it('fails on an expired timestamp, and succeeds after tuf refresh', async () => {
    setWallClock('2026-01-20T00:00:00Z');
    const client = newClient();
    const failure = await client.fetchTarget('trusted_root.json').catch((error: Error) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).constructor.name).toBe('ExpiredMetadataError');
    expect((failure as Error).message).toMatch(/timestamp.*expired/i);

    const result = await refresh('2026-01-20T00:00:00Z');
    expect(result.published.map((entry) => entry.role)).toEqual(['timestamp']);
    await publish();
    expect(JSON.parse((await client.fetchTarget('trusted_root.json')).toString('utf8')).mediaType).toContain('trustedroot');
  });

  it('rejects tampered target bytes and tampered metadata', async () => {
    setWallClock('2026-01-02T00:00:00Z');
    const trustedRoot = readFileSync(join(temp(), 'dist', 'trust', 'trusted_root.json'));
    const targetPath = join(tufDir(), 'targets', `${sha256(trustedRoot)}.trusted_root.json`);
    writeFileSync(targetPath, trustedRoot.toString('utf8').replace('sigstore-system', 'evil-system'));
    await expect(newClient('one').fetchTarget('trusted_root.json')).rejects.toThrow(/hash|length/i);

    writeFileSync(targetPath, trustedRoot);
    const timestamp = JSON.parse(readFileSync(join(tufDir(), 'timestamp.json'), 'utf8'));
    timestamp.signed.expires = '2099-01-01T00:00:00Z';
    writeFileSync(join(tufDir(), 'timestamp.json'), JSON.stringify(timestamp));
    await expect(newClient('two').fetchTarget('trusted_root.json')).rejects.toThrow(/timestamp was signed by 0\/1 keys/);
  });
});

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
