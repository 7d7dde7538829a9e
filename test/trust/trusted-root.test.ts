import { createHash, createPublicKey } from 'node:crypto';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial } from '@sigstore/verify';
import { spkiDer } from '../../lib/pki/keys';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { buildTrustedRoot, TRUSTED_ROOT_MEDIA_TYPE } from '../../lib/trust/trusted-root';
import { serviceUrls } from '../../lib/config/service-urls';
import { fixtureConfig, fixtureMaterial } from '../helpers/fixture-state';
import { useTempDirectory } from '../helpers/temp-directory';

const der = (b64: string) => Buffer.from(b64, 'base64');

describe('buildTrustedRoot', () => {
  const temp = useTempDirectory();
  let material: PkiMaterial;
  beforeEach(async () => {
    material = await fixtureMaterial(temp());
  });

  it('matches the snapshot for the fixture state (in-cluster URLs)', () => {
    const config = fixtureConfig();
    expect(buildTrustedRoot({ material, urls: serviceUrls(config), organization: config.organization })).toMatchSnapshot();
  });

  it('lists each authority and log once, with the right chain order, URLs, log ids and validity', () => {
    const config = fixtureConfig(
      'services:\n  fulcio: { hostname: fulcio.example.com }\n  rekor: { hostname: rekor.example.com }\n' +
        '  ctlog: { hostname: ctlog.example.com, prefix: forge }\n  tsa: { hostname: tsa.example.com }\n',
    );
    const root = buildTrustedRoot({ material, urls: serviceUrls(config), organization: config.organization });
    expect(root.mediaType).toBe(TRUSTED_ROOT_MEDIA_TYPE);

    // Fulcio: intermediate first, root last; no leaf.
    expect(root.certificateAuthorities).toHaveLength(1);
    const ca = root.certificateAuthorities[0];
    expect(ca.uri).toBe('https://fulcio.example.com');
    expect(ca.subject).toEqual({ organization: 'Test Org', commonName: 'Fulcio Intermediate CA' });
    expect(ca.certChain.certificates.map((c) => der(c.rawBytes))).toEqual([
      material.fulcio.intermediate.der,
      material.fulcio.root.der,
    ]);
    expect(ca.validFor).toEqual({ start: '2026-01-01T00:00:00Z', end: '2031-01-01T00:00:00Z' });

    // TSA: leaf first, then intermediate, then root.
    const tsa = root.timestampAuthorities[0];
    expect(root.timestampAuthorities).toHaveLength(1);
    expect(tsa.uri).toBe('https://tsa.example.com/api/v1/timestamp');
    expect(tsa.certChain.certificates.map((c) => der(c.rawBytes))).toEqual([
      material.tsa.leaf.der,
      material.tsa.intermediate.der,
      material.tsa.root.der,
    ]);
    expect(tsa.validFor).toEqual({ start: '2026-01-01T00:00:00Z', end: '2028-01-01T00:00:00Z' });

    // Logs: log id = SHA-256 of the DER SubjectPublicKeyInfo; key bytes = that DER.
    for (const [log, key, url] of [
      [root.tlogs, material.rekor.publicKey, 'https://rekor.example.com'],
      [root.ctlogs, material.ctlog.publicKey, 'https://ctlog.example.com/forge'],
    ] as const) {
      expect(log).toHaveLength(1);
      expect(log[0].baseUrl).toBe(url);
      expect(log[0].hashAlgorithm).toBe('SHA2_256');
      expect(der(log[0].publicKey.rawBytes)).toEqual(spkiDer(key));
      expect(log[0].publicKey.keyDetails).toBe('PKIX_ECDSA_P256_SHA_256');
      expect(log[0].publicKey.validFor).toEqual({ start: '2026-01-01T00:00:00Z' });
      expect(der(log[0].logId.keyId)).toEqual(createHash('sha256').update(spkiDer(key)).digest());
      expect(createPublicKey({ key: der(log[0].publicKey.rawBytes), format: 'der', type: 'spki' }).asymmetricKeyType).toBe('ec');
    }
  });

  it('is accepted by the sigstore-js trust material parser', () => {
    const config = fixtureConfig();
    const json = JSON.parse(JSON.stringify(buildTrustedRoot({ material, urls: serviceUrls(config), organization: config.organization })));
    const trust = toTrustMaterial(TrustedRoot.fromJSON(json));
    expect(trust.certificateAuthorities).toHaveLength(1);
    expect(trust.timestampAuthorities).toHaveLength(1);
    expect(trust.tlogs).toHaveLength(1);
    expect(trust.ctlogs).toHaveLength(1);
    expect(trust.timestampAuthorities[0].certChain).toHaveLength(3);
  });
});
