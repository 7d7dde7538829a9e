import { createHash, createPublicKey } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import 'reflect-metadata';
import { AsnConvert } from '@peculiar/asn1-schema';
import { canonicalize } from '@tufjs/canonical-json';
import { Certificate } from '@peculiar/asn1-x509';
import type { SigstoreConfig } from '../../lib/config/schema';
import type { CeremonyRecord, SignIntentRecord, SignResultRecord } from '../../lib/pki/ceremony-log';
import { publicKeysEqual } from '../../lib/pki/keys';
import { ensureRootKeys, rootKeyPlan } from '../../lib/pki/otc-kms-root-keys';
import { certificateKey, readPkiMaterial } from '../../lib/pki/state-items';
import { StateStore } from '../../lib/state/store';
import { rootKeysFor, runBootstrap, synth } from '../../lib/synth';
import { runTufRefresh } from '../../lib/tuf-refresh';
import { openssl, opensslOk } from '../helpers/openssl';
import { signArtifact, verifyWithSigstore } from '../helpers/sigstore-bundle';
import { serveDirectory } from '../helpers/static-server';
import { useTempDirectory } from '../helpers/temp-directory';
import { treeContents } from '../helpers/tree';
import { TufTestClient } from '../helpers/tuf-client';
import { connectTo, credentialEnvironment, instantRetries, kmsConfig, loadOpenedState, startEmulator } from '../otc/kms-fixture';
import type { KmsEmulator } from '../otc/kms-emulator';

const ENV = 'kms';
/** What a first bootstrap mints before the TUF repository (which follows, signed by the TUF root key). */
const PKI_ITEMS = ['fulcio-root', 'fulcio-intermediate', 'tsa-root', 'tsa-intermediate', 'tsa-leaf', 'ctlog-key', 'rekor-key'];
/** The whole state: the data key that seals the passwords, the PKI, then the TUF repository (root v1 signed through KMS). */
const expectComplete = (minted: readonly string[]) => {
  expect(minted[0]).toBe('kms-data-key');
  expect(minted.slice(1, PKI_ITEMS.length + 1)).toEqual(PKI_ITEMS);
  expect(minted).toEqual(expect.arrayContaining(['tuf-root-v1', 'tuf-targets-v1', 'tuf-snapshot-v1', 'tuf-timestamp']));
};
/** A minute in the past, so that wall-clock timestamps (openssl ts) fall inside every validity window. */
const mintClock = () => new Date(Date.now() - 60_000);
/** How synth reaches the emulator to open the sealed passwords. */
const kmsAccess = () => ({ environment: credentialEnvironment('access-key'), http: instantRetries().options });

/** Bootstrap, a changed alias, and the ceremony log's records, for the environment and state root a describe block holds. */
function stateHelpers(current: () => { config: SigstoreConfig; stateRoot: string }) {
  const bootstrapWith = (auth: 'access-key' | 'password' = 'access-key', withConfig: SigstoreConfig = current().config) =>
    runBootstrap({
      config: withConfig,
      stateRoot: current().stateRoot,
      clock: mintClock,
      rootKeys: rootKeysFor(withConfig, { environment: credentialEnvironment(auth), http: instantRetries().options }),
    });
  /** The environment with another alias for one root. */
  const withAlias = (root: 'fulcioRootKeyAlias' | 'tsaRootKeyAlias', alias: string): SigstoreConfig => {
    const { config } = current();
    return { ...config, otc: { ...config.otc!, kms: { ...config.otc!.kms, [root]: alias } } };
  };
  const ceremonyLog = (): CeremonyRecord[] =>
    readFileSync(join(current().stateRoot, ENV, 'ceremony.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
  /** The log's sign-intent records: one per use of a root key. */
  const intents = () => ceremonyLog().filter((record): record is SignIntentRecord => record.kind === 'sign-intent');
  /** The sign-result records, in order. */
  const results = () => ceremonyLog().filter((record): record is SignResultRecord => record.kind === 'sign-result');
  return { bootstrapWith, withAlias, ceremonyLog, intents, results };
}

describe('bootstrap with the OTC KMS signer (through the emulator)', () => {
  const temp = useTempDirectory();
  let emulator: KmsEmulator;
  let config: SigstoreConfig;
  let stateRoot: string;
  let keyIds: { fulcio: string; tsa: string; tuf: string };

  beforeEach(async () => {
    emulator = await startEmulator({ tokenLifetimeMs: 3600_000 });
    config = kmsConfig(emulator, ENV);
    stateRoot = join(temp(), '.sigstore');
    mkdirSync(stateRoot, { mode: 0o700 });
    const setup = connectTo(emulator);
    const keys = await ensureRootKeys({ kms: setup.kms, roots: rootKeyPlan(config.otc!), env: ENV });
    keyIds = { fulcio: keys[0].keyId, tsa: keys[1].keyId, tuf: keys[2].keyId };
    emulator.calls.length = 0; // count only the bootstrap's calls
  });
  afterEach(() => emulator.stop());

  const { bootstrapWith, withAlias, ceremonyLog, intents, results } = stateHelpers(() => ({ config, stateRoot }));

  describe.each(['access-key', 'password'] as const)('authenticated with %s credentials', (auth) => {
    it('mints the whole state; the roots carry the KMS keys and are signed by them', async () => {
      const result = await bootstrapWith(auth);
      expectComplete(result.minted);
      expect(publicKeysEqual(certificateKey(result.material.fulcio.root), emulator.publicKeyOf(keyIds.fulcio))).toBe(true);
      expect(publicKeysEqual(certificateKey(result.material.tsa.root), emulator.publicKeyOf(keyIds.tsa))).toBe(true);
      const manifest = JSON.parse(readFileSync(join(stateRoot, ENV, 'manifest.json'), 'utf8'));
      expect(manifest.items['fulcio-root'].signedBy).toBe(`otc-kms:${keyIds.fulcio}`);
      expect(manifest.items['fulcio-intermediate'].signedBy).toBe(`otc-kms:${keyIds.fulcio}`);
      expect(manifest.items['tsa-root'].signedBy).toBe(`otc-kms:${keyIds.tsa}`);
      expect(manifest.items['tsa-intermediate'].signedBy).toBe(`otc-kms:${keyIds.tsa}`);
      // No root key material anywhere in the state: the keys never left KMS.
      expect(Object.keys(manifest.files).filter((path) => path.startsWith('signer/'))).toEqual([]);
      // Five signatures: each certificate root self-signs and signs its intermediate, the TUF root key signs
      // root metadata v1; one lookup for the three aliases and one public key fetch per root.
      const kmsCalls = Object.fromEntries(Object.entries(emulator.callCounts()).filter(([api]) => api.startsWith('kms')));
      // Plus the state key (looked up, created) and the data key the passwords are sealed under.
      expect(kmsCalls).toEqual({ 'kms list-keys': 2, 'kms create-key': 1, 'kms create-datakey': 1, 'kms describe-key': 3, 'kms get-publickey': 3, 'kms sign': 5 });
      expect(emulator.calls.filter((call) => call.service === 'kms').every((call) => call.auth === (auth === 'access-key' ? 'aksk' : 'token'))).toBe(true);
    });
  });

  describe('faults', () => {
    it('429 then success: the ceremony completes', async () => {
      emulator.inject({ api: 'sign', status: 429, times: 2 });
      emulator.inject({ api: 'get-publickey', status: 503 });
      const result = await bootstrapWith();
      expectComplete(result.minted);
      expect(emulator.calls.filter((call) => call.api === 'sign').map((call) => call.status)).toEqual([429, 429, 200, 200, 200, 200, 200]);
      // One intent and one result per signature: the retries of a throttled call are inside its intent.
      expect(results().map((record) => record.outcome)).toEqual(Array(5).fill('signed'));
      expect(ceremonyLog()).toHaveLength(10);
    });

    it('repeated 500s end in OTC_UNAVAILABLE and leave the state as it was, but for the log of the failed attempt', async () => {
      writeFileSync(join(stateRoot, 'other-env.txt'), 'unrelated');
      const before = treeContents(stateRoot);
      emulator.inject({ api: 'sign', status: 500, times: 100 });
      const error = await bootstrapWith().catch((caught) => caught);
      expect(error).toMatchObject({ code: 'OTC_UNAVAILABLE', exitCode: 4 });
      expect(error.message).toContain('KMS sign failed after 4 attempts: HTTP 500');
      // Nothing but the ceremony log's record of the attempt: the intent, and its failure.
      expect(treeContents(stateRoot)).toEqual({ ...before, [`${ENV}/`]: '700', [`${ENV}/ceremony.jsonl`]: expect.stringMatching(/^600 /) });
      expect(ceremonyLog()).toEqual([
        expect.objectContaining({ kind: 'sign-intent', purpose: 'fulcio-root certificate' }),
        expect.objectContaining({ kind: 'sign-result', outcome: 'failed', error: expect.objectContaining({ code: 'OTC_UNAVAILABLE', httpStatus: 500 }) }),
      ]);
    });

    it('500s after the first root was signed: nothing of the state is written; the log keeps every attempt and its outcome', async () => {
      emulator.inject({ api: 'sign', status: 500, times: 4, skip: 2 }); // fulcio root and intermediate signed, all 4 attempts at the TSA root fail
      const error = await bootstrapWith().catch((caught) => caught);
      expect(error).toMatchObject({ code: 'OTC_UNAVAILABLE' });
      const store = new StateStore({ root: stateRoot, env: ENV });
      expect((await store.load()).itemIds).toEqual([]); // no partial state: nothing was committed
      expect(treeContents(stateRoot)).toEqual({ './': '700', [`${ENV}/`]: '700', [`${ENV}/ceremony.jsonl`]: expect.any(String) });
      expect(intents().map((record) => record.purpose)).toEqual(['fulcio-root certificate', 'fulcio-intermediate certificate', 'tsa-root certificate']);
      expect(results().map((record) => record.outcome)).toEqual(['signed', 'signed', 'failed']);
      // Once KMS recovers the ceremony runs from the start (nothing was kept), and the log grows.
      const result = await bootstrapWith();
      expectComplete(result.minted);
      expect(ceremonyLog()).toHaveLength(6 + 10);
    });

    it('refuses a root key with the wrong spec and writes nothing', async () => {
      const otherConfig = kmsConfig(emulator, ENV, '    keySpec: EC_P256');
      expect(otherConfig.otc!.kms.keySpec).toBe('EC_P256');
      const before = treeContents(stateRoot);
      const error = await bootstrapWith('access-key', otherConfig).catch((caught) => caught);
      expect(error).toMatchObject({ code: 'KMS_KEY_UNUSABLE' });
      expect(error.message).toContain(`fulcio root key ${keyIds.fulcio} (alias "sigstore-fulcio-root-g1") has key spec EC_P384, but otc.kms.keySpec is EC_P256`);
      expect(error.message).toContain('tsa root key');
      expect(treeContents(stateRoot)).toEqual(before);
      expect(emulator.calls.filter((call) => call.api === 'sign')).toEqual([]);
    });

    it('refuses a signature that does not verify and writes nothing but the log of the attempt', async () => {
      emulator.corruptSignatures = true;
      const before = treeContents(stateRoot);
      const error = await bootstrapWith().catch((caught) => caught);
      expect(error).toMatchObject({ code: 'SIGNATURE_INVALID', exitCode: 4 });
      expect(error.message).toContain(`KMS key ${keyIds.fulcio} returned a signature that does not verify`);
      expect(treeContents(stateRoot)).toEqual({ ...before, [`${ENV}/`]: '700', [`${ENV}/ceremony.jsonl`]: expect.stringMatching(/^600 /) });
      expect(results()).toEqual([expect.objectContaining({ outcome: 'failed', error: { code: 'SIGNATURE_INVALID' } })]);
    });

    it('raw r‖s signatures give the same verifiable result', async () => {
      emulator.signatureEncoding = 'raw';
      const { material } = await bootstrapWith();
      expect(material.fulcio.root.verify(material.fulcio.root.publicKey)).toBe(true);
    });

    it('an IAM token that expires during the ceremony is refreshed and the call repeated', async () => {
      emulator.inject({ api: 'sign', expireTokens: true, skip: 1 });
      const result = await bootstrapWith('password');
      expectComplete(result.minted);
      expect(emulator.callCounts()['iam auth/tokens']).toBe(2);
      expect(emulator.calls.filter((call) => call.api === 'sign').map((call) => `${call.status}${call.errorCode ? ` ${call.errorCode}` : ''}`)).toEqual([
        '200',
        '403 KMS.0303',
        '200',
        '200',
        '200',
        '200',
      ]);
    });

    it('keys missing from KMS: asks for keys ensure and writes nothing', async () => {
      const before = treeContents(stateRoot);
      const error = await bootstrapWith('access-key', withAlias('tsaRootKeyAlias', 'sigstore-tsa-root-g2')).catch((caught) => caught);
      expect(error).toMatchObject({ code: 'KMS_KEY_NOT_FOUND', message: expect.stringContaining('run "sigstore-cdk keys ensure --env kms" first') });
      expect(treeContents(stateRoot)).toEqual(before);
    });
  });
});

/*
 * The tests that need a complete state but not the bootstrap's own calls share one bootstrap
 * (minted once, in beforeAll); each works on its own copy of that state, against the same emulator.
 */
describe('a state bootstrapped once through KMS', () => {
  const temp = useTempDirectory();
  let emulator: KmsEmulator;
  let config: SigstoreConfig;
  let stateRoot: string;
  let keyIds: { fulcio: string; tsa: string; tuf: string };
  let mintedRoot: string;
  let minted: Awaited<ReturnType<typeof runBootstrap>>;
  /** The emulator's calls during that bootstrap. */
  let mintCalls: KmsEmulator['calls'];
  const { bootstrapWith, withAlias, ceremonyLog, intents, results } = stateHelpers(() => ({ config, stateRoot }));

  beforeAll(async () => {
    emulator = await startEmulator({ tokenLifetimeMs: 3600_000 });
    config = kmsConfig(emulator, ENV);
    mintedRoot = join(mkdtempSync(join(tmpdir(), 'otc-kms-bootstrap-')), '.sigstore');
    mkdirSync(mintedRoot, { mode: 0o700 });
    const keys = await ensureRootKeys({ kms: connectTo(emulator).kms, roots: rootKeyPlan(config.otc!), env: ENV });
    keyIds = { fulcio: keys[0].keyId, tsa: keys[1].keyId, tuf: keys[2].keyId };
    emulator.calls.length = 0; // only the bootstrap's calls
    stateRoot = mintedRoot;
    minted = await bootstrapWith();
    expectComplete(minted.minted);
    mintCalls = [...emulator.calls];
  });
  beforeEach(() => {
    stateRoot = join(temp(), '.sigstore');
    cpSync(mintedRoot, stateRoot, { recursive: true });
  });
  afterAll(async () => {
    await emulator?.stop();
    if (mintedRoot) rmSync(dirname(mintedRoot), { recursive: true, force: true });
  });

  it('produces chains that openssl verifies (strict X.509, ecdsa-with-SHA384 root signatures)', async () => {
    const { material } = minted;
    const dir = join(temp(), 'pem');
    mkdirSync(dir);
    const write = (name: string, certificate: { toString(format: 'pem'): string }) => {
      writeFileSync(join(dir, name), certificate.toString('pem'));
      return join(dir, name);
    };
    const fulcioRoot = write('fulcio-root.pem', material.fulcio.root);
    const tsaRoot = write('tsa-root.pem', material.tsa.root);
    expect(opensslOk(['verify', '-x509_strict', '-check_ss_sig', '-CAfile', fulcioRoot, fulcioRoot])).toContain(': OK');
    expect(opensslOk(['verify', '-x509_strict', '-CAfile', fulcioRoot, write('fulcio-intermediate.pem', material.fulcio.intermediate)])).toContain(': OK');
    expect(
      opensslOk([
        'verify', '-x509_strict', '-purpose', 'timestampsign', '-CAfile', tsaRoot,
        '-untrusted', write('tsa-intermediate.pem', material.tsa.intermediate), write('tsa-leaf.pem', material.tsa.leaf),
      ]),
    ).toContain(': OK');
    for (const root of [fulcioRoot, tsaRoot]) {
      const text = opensslOk(['x509', '-in', root, '-noout', '-text']);
      expect(text).toContain('Signature Algorithm: ecdsa-with-SHA384');
      expect(text).toContain('NIST CURVE: P-384');
    }
    // The other root does not verify this chain.
    expect(openssl(['verify', '-CAfile', tsaRoot, join(dir, 'fulcio-intermediate.pem')]).status).not.toBe(0);
  });

  it('yields trust outputs that @sigstore/verify accepts for a Fulcio-style bundle with a TSA timestamp', async () => {
    const outDir = join(temp(), 'dist');
    await synth({ config, stateRoot, outDir, kms: kmsAccess() }); // otc-kms: synth reads the complete state, mints nothing
    const trustedRoot = JSON.parse(readFileSync(join(outDir, 'trust', 'trusted_root.json'), 'utf8'));
    // The keys' passwords open only through KMS (the state holds them sealed).
    const material = await readPkiMaterial(await loadOpenedState(config, stateRoot));
    const signed = await signArtifact(material, { artifact: Buffer.from('signed with a KMS-rooted PKI\n'), workDir: join(temp(), 'tsa') });
    expect(() => verifyWithSigstore(trustedRoot, signed)).not.toThrow();
    expect(() => verifyWithSigstore(trustedRoot, { ...signed, artifact: Buffer.from('tampered\n') })).toThrow(
      expect.objectContaining({ code: 'SIGNATURE_ERROR' }),
    );
  });

  it('logs every KMS signature in the ceremony log: key id, digest of what was signed, purpose, operator, KMS receipt', async () => {
    const { material } = minted;
    const records = intents();
    expect(ceremonyLog().map((record) => record.kind)).toEqual(Array(5).fill(['sign-intent', 'sign-result']).flat());
    expect(records.map((record) => [record.keyRef, record.purpose, record.digestAlgorithm])).toEqual([
      [`otc-kms:${keyIds.fulcio}`, 'fulcio-root certificate', 'SHA-384'],
      [`otc-kms:${keyIds.fulcio}`, 'fulcio-intermediate certificate', 'SHA-384'],
      [`otc-kms:${keyIds.tsa}`, 'tsa-root certificate', 'SHA-384'],
      [`otc-kms:${keyIds.tsa}`, 'tsa-intermediate certificate', 'SHA-384'],
      [`otc-kms:${keyIds.tuf}`, 'tuf root metadata v1', 'SHA-256'],
    ]);
    const tbsDigest = (certificate: { der: Buffer }) =>
      createHash('sha384')
        .update(Buffer.from(AsnConvert.serialize(AsnConvert.parse(new Uint8Array(certificate.der), Certificate).tbsCertificate)))
        .digest('hex');
    // TUF signs the canonical JSON of the metadata's "signed" part.
    const root = JSON.parse(readFileSync(join(stateRoot, ENV, 'tuf', 'repository', '1.root.json'), 'utf8'));
    expect(records.map((record) => record.digest)).toEqual([
      tbsDigest(material.fulcio.root),
      tbsDigest(material.fulcio.intermediate),
      tbsDigest(material.tsa.root),
      tbsDigest(material.tsa.intermediate),
      createHash('sha256').update(canonicalize(root.signed)).digest('hex'),
    ]);
    const signCalls = mintCalls.filter((call) => call.api === 'sign');
    const outcomes = results();
    records.forEach((record, index) => {
      expect(record).toMatchObject({ env: ENV, operator: expect.any(String), time: expect.any(String) });
      expect(outcomes[index]).toMatchObject({ outcome: 'signed', keyRef: record.keyRef });
      expect(outcomes[index].receipt).toEqual({
        kmsKeyId: record.keyRef.slice('otc-kms:'.length),
        signingAlgorithm: record.digestAlgorithm === 'SHA-256' ? 'ECDSA_SHA_256' : 'ECDSA_SHA_384',
        sequence: signCalls[index].sequence,
        requestId: signCalls[index].requestId,
      });
    });
  });

  it('signs the TUF root metadata with the KMS TUF key, and tuf-js accepts the published repository', async () => {
    const outDir = join(temp(), 'dist');
    await synth({ config, stateRoot, outDir, kms: kmsAccess() });
    const tufDir = join(outDir, 'trust', 'tuf');
    const root = JSON.parse(readFileSync(join(tufDir, '1.root.json'), 'utf8'));
    const [rootKeyId] = root.signed.roles.root.keyids;
    expect(publicKeysEqual(createPublicKey(root.signed.keys[rootKeyId].keyval.public), emulator.publicKeyOf(keyIds.tuf))).toBe(true);
    const server = await serveDirectory(tufDir);
    try {
      const client = new TufTestClient(server.url, join(temp(), 'tuf-client'), join(tufDir, '1.root.json'));
      const trustedRoot = await client.fetchTarget('trusted_root.json');
      expect(trustedRoot.equals(readFileSync(join(outDir, 'trust', 'trusted_root.json')))).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('tuf refresh re-signs a due TUF root through KMS, and needs only the data key (decrypt-datakey) while only the online roles are due', async () => {
    emulator.calls.length = 0;
    const refresh = (days: number) =>
      runTufRefresh({
        config,
        stateRoot,
        clock: () => new Date(Date.now() + days * 86400_000),
        rootKeys: rootKeysFor(config, { environment: credentialEnvironment('password'), http: instantRetries().options }),
      });
    const online = await refresh(20); // timestamp due (14d expiry), root far from due
    expect(online.published.map((entry) => entry.role)).not.toContain('root');
    // The online keys' passwords are sealed: one decrypt-datakey opens them; no root key is used.
    expect(Object.keys(emulator.callCounts()).filter((api) => api.startsWith('kms'))).toEqual(['kms decrypt-datakey']);
    const rootDue = await refresh(300); // inside the root's 90-day window before its 1-year expiry
    expect(rootDue.published.find((entry) => entry.role === 'root')).toMatchObject({ version: 2 });
    expect(emulator.callCounts()).toMatchObject({ 'iam auth/tokens': 2, 'kms sign': 1, 'kms decrypt-datakey': 2 });
    expect(intents().at(-1)).toMatchObject({ keyRef: `otc-kms:${keyIds.tuf}`, purpose: 'tuf root metadata v2', digestAlgorithm: 'SHA-256' });
    expect(results().at(-1)).toMatchObject({ keyRef: `otc-kms:${keyIds.tuf}`, outcome: 'signed' });
  });

  it('changes nothing and signs nothing when run again on a complete state; it only reads the public keys, to compare them with the pins', async () => {
    const before = treeContents(stateRoot);
    emulator.calls.length = 0;
    const again = await bootstrapWith();
    expect(again).toMatchObject({ minted: [], written: false });
    expect(treeContents(stateRoot)).toEqual(before);
    const kmsCalls = Object.fromEntries(Object.entries(emulator.callCounts()).filter(([api]) => api.startsWith('kms')));
    expect(kmsCalls).toEqual({ 'kms list-keys': 1, 'kms describe-key': 3, 'kms get-publickey': 3 });
  });

  it('refuses a state whose root another KMS key signed (alias moved to a new key), and signs nothing', async () => {
    const otherKey = emulator.seedKey({ alias: 'sigstore-fulcio-root-g2', keySpec: 'EC_P384' });
    const before = treeContents(stateRoot);
    emulator.calls.length = 0;
    const error = await bootstrapWith('access-key', withAlias('fulcioRootKeyAlias', 'sigstore-fulcio-root-g2')).catch((caught) => caught);
    expect(error).toMatchObject({ code: 'STATE_SIGNER_MISMATCH', exitCode: 3 });
    expect(error.message).toContain(`the fulcio root is pinned to otc-kms:${keyIds.fulcio}`);
    expect(error.message).toContain(`otc-kms:${otherKey}`);
    // A new root key is a rotation of the existing state, never a new state (issue 10): the message says how.
    expect(error.message).toContain(
      'a new fulcio root key is a rotation: keep the configured key that minted generation 1 (otc.kms.fulcioRootKeyAlias) and run ' +
        '"sigstore-cdk keys ensure --env kms --next fulcio-root", then "sigstore-cdk rotate fulcio-root --env kms"',
    );
    expect(error.message).not.toContain('mint a new state');
    expect(treeContents(stateRoot)).toEqual(before);
    expect(emulator.calls.filter((call) => call.api === 'sign')).toEqual([]);
  });
});
