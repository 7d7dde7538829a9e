import { appendFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkCustody } from '../../lib/custody/check-custody';
import { bootstrap } from '../../lib/pki/bootstrap';
import { CeremonyLogWriter } from '../../lib/pki/ceremony-log';
import { LocalRootKeys } from '../../lib/pki/root-keys';
import { CEREMONY_LOG_GENESIS, ceremonyLineHash } from '../../lib/state/ceremony-log-file';
import { StateSnapshot, StateStore } from '../../lib/state/store';
import { mintBeyondPki } from '../../lib/synth';
import { copyFixtureState, FIXTURE_CLOCK, FIXTURE_ENV, fixtureConfig } from '../helpers/fixture-state';
import { ceremonyLines, readManifest, rehashManifest, writeManifest } from '../helpers/state-tampering';
import { useTempDirectory } from '../helpers/temp-directory';

/*
 * The custody checks (lib/custody) on the committed fixture state, in process: what passes (a run
 * that stopped after logging but before committing) and each way a state can fail them.
 */
describe('custody checks', () => {
  const temp = useTempDirectory();
  let stateRoot: string;
  let stateDir: string;
  const store = () => new StateStore({ root: stateRoot, env: FIXTURE_ENV });
  const check = async () => checkCustody(await store().load(), stateDir);
  const logPath = () => join(stateDir, 'ceremony.jsonl');

  beforeEach(() => {
    stateRoot = copyFixtureState(temp());
    stateDir = join(stateRoot, FIXTURE_ENV);
  });

  it('the fixture passes', async () => {
    await expect(check()).resolves.toBeUndefined();
  });

  it('lines after the recorded head (a run that logged a signature, then stopped before committing) are accepted', async () => {
    const writer = new CeremonyLogWriter(store());
    const tufPin = (readManifest(stateDir).rootKeys as Record<string, { spkiSha256: string }>).tuf;
    const intent = await writer.append({
      kind: 'sign-intent',
      time: '2026-01-02T00:00:00.000Z',
      env: FIXTURE_ENV,
      operator: 'test',
      keyRef: 'local:signer/tuf-root.key.pem',
      keySpki: tufPin.spkiSha256,
      purpose: 'tuf root metadata v2',
      digestAlgorithm: 'SHA-256',
      digest: 'ab'.repeat(32),
    });
    await writer.append({ kind: 'sign-result', time: '2026-01-02T00:00:00.000Z', env: FIXTURE_ENV, keyRef: 'local:signer/tuf-root.key.pem', intent, outcome: 'failed', error: { code: 'OTC_TIMEOUT' } });
    expect(ceremonyLines(stateDir)).toHaveLength(12);
    await expect(check()).resolves.toBeUndefined();
  });

  it('a line after the head that does not chain is refused', async () => {
    appendFileSync(logPath(), `${JSON.stringify({ seq: 11, prev: CEREMONY_LOG_GENESIS, kind: 'sign-result', time: '2026-01-02T00:00:00.000Z', env: FIXTURE_ENV })}\n`);
    await expect(check()).rejects.toMatchObject({ code: 'STATE_CEREMONY_LOG_INVALID', message: expect.stringContaining('line 11') });
  });

  it('an append cut off mid-line is refused (and a writer does not chain onto it)', async () => {
    appendFileSync(logPath(), '{"seq":11,"prev":"');
    await expect(check()).rejects.toMatchObject({ code: 'STATE_CEREMONY_LOG_INVALID', message: expect.stringContaining('incomplete line after line 10') });
    await expect(new CeremonyLogWriter(store()).append({ kind: 'sign-result' } as never)).rejects.toMatchObject({ code: 'STATE_CEREMONY_LOG_INVALID' });
  });

  it('a log whose record of the Fulcio root signature was removed, re-chained and re-headed, is refused: the root is not on record', async () => {
    const lines = ceremonyLines(stateDir).slice(2); // drop the fulcio-root intent and result
    let prev = CEREMONY_LOG_GENESIS;
    const rechained = lines.map((line, index) => {
      const next = JSON.stringify({ ...JSON.parse(line), seq: index + 1, prev, ...(JSON.parse(line).kind === 'sign-result' ? { intent: prev } : {}) });
      prev = ceremonyLineHash(next);
      return next;
    });
    writeFileSync(logPath(), rechained.map((line) => `${line}\n`).join(''));
    const manifest = readManifest(stateDir);
    manifest.ceremonyLog = { records: rechained.length, head: prev };
    writeManifest(stateDir, manifest);
    await expect(check()).rejects.toMatchObject({
      code: 'STATE_CEREMONY_LOG_INVALID',
      message: expect.stringMatching(/fulcio\/root\.crt\.pem: its signature by local:signer\/fulcio-root\.key\.pem \(fulcio-root certificate, SHA-384 [0-9a-f]{96}\) is not in/),
    });
  });

  it("another environment's log is refused", async () => {
    const other = join(temp(), 'other');
    await bootstrap({ config: fixtureConfig(), store: new StateStore({ root: other, env: 'other' }), rootKeys: new LocalRootKeys(), clock: FIXTURE_CLOCK });
    cpSync(join(other, 'other', 'ceremony.jsonl'), logPath());
    await expect(check()).rejects.toMatchObject({ code: 'STATE_CEREMONY_LOG_INVALID', message: expect.stringContaining('line 1 is a record of environment "other"') });
  });

  it("a TUF root copied from another environment is refused: its root key is not the pinned one", async () => {
    const other = join(temp(), 'other');
    await bootstrap({ config: fixtureConfig(), store: new StateStore({ root: other, env: 'other' }), rootKeys: new LocalRootKeys(), clock: FIXTURE_CLOCK, extend: mintBeyondPki(fixtureConfig()) });
    cpSync(join(other, 'other', 'tuf', 'repository', '1.root.json'), join(stateDir, 'tuf', 'repository', '1.root.json'));
    rehashManifest(stateDir);
    await expect(check()).rejects.toMatchObject({ code: 'STATE_ROOT_KEY_MISMATCH', message: expect.stringContaining('tuf/repository/1.root.json carries the key') });
  });

  it('a manifest that names another signer, or pins no key for a root it holds, is refused', async () => {
    const manifest = readManifest(stateDir);
    manifest.items['fulcio-root'].signedBy = 'otc-kms:0a1b2c3d-0000-0000-0000-000000000000';
    delete (manifest.rootKeys as Record<string, unknown>).tsa;
    writeManifest(stateDir, manifest);
    const error = await check().catch((caught) => caught);
    expect(error).toMatchObject({ code: 'STATE_ROOT_KEY_MISMATCH' });
    expect(error.message).toContain('fulcio/root.crt.pem is recorded as signed by otc-kms:0a1b2c3d-0000-0000-0000-000000000000');
    expect(error.message).toContain('the tsa root is in the state but its key is not pinned');
  });

  it('a pin is set once: a different key for a pinned root is refused', () => {
    const snapshot = StateSnapshot.empty('pins');
    snapshot.pinRootKey('fulcio', { keyRef: 'local:a', spkiSha256: 'a'.repeat(64), pinnedAt: '2026-01-01T00:00:00.000Z' });
    snapshot.pinRootKey('fulcio', { keyRef: 'local:a', spkiSha256: 'a'.repeat(64), pinnedAt: '2027-01-01T00:00:00.000Z' }); // the same key: no change
    expect(snapshot.rootKeyPin('fulcio')?.pinnedAt).toBe('2026-01-01T00:00:00.000Z');
    expect(() => snapshot.pinRootKey('fulcio', { keyRef: 'local:b', spkiSha256: 'b'.repeat(64), pinnedAt: '2026-01-01T00:00:00.000Z' })).toThrow(
      expect.objectContaining({ code: 'STATE_ROOT_KEY_MISMATCH' }),
    );
  });

  it('the manifest records the log head at each commit', async () => {
    const lines = readFileSync(logPath(), 'utf8').trim().split('\n');
    expect(readManifest(stateDir).ceremonyLog).toEqual({ records: lines.length, head: ceremonyLineHash(lines[lines.length - 1]) });
  });
});
