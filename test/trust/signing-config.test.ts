import { ServiceSelector, SigningConfig } from '@sigstore/protobuf-specs';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { buildSigningConfig, rekorServiceAt, SIGNING_CONFIG_MEDIA_TYPE } from '../../lib/trust/signing-config';
import { fixtureConfig, fixtureMaterial } from '../helpers/fixture-state';
import { useTempDirectory } from '../helpers/temp-directory';

describe('buildSigningConfig', () => {
  const temp = useTempDirectory();
  let material: PkiMaterial;
  beforeEach(async () => {
    material = await fixtureMaterial(temp());
  });

  it('lists Fulcio, every configured OIDC issuer once, Rekor v1 and the TSA, from the configured hostnames', () => {
    const config = fixtureConfig(
      [
        'services:',
        '  fulcio: { hostname: fulcio.example.com }',
        '  rekor: { hostname: rekor.example.com }',
        '  tsa: { hostname: tsa.example.com }',
        'oidc:',
        '  issuers:',
        '    - url: https://token.actions.githubusercontent.com',
        '      type: github-workflow',
        '  tenants:',
        '    - name: acme',
        '      issuers: [{ url: "https://login.acme.example" }, { url: "https://token.actions.githubusercontent.com", type: github-workflow }]',
        '',
      ].join('\n'),
    );
    const signingConfig = buildSigningConfig(material, config);
    expect(signingConfig.mediaType).toBe(SIGNING_CONFIG_MEDIA_TYPE);
    expect(signingConfig.mediaType).toBe('application/vnd.dev.sigstore.signingconfig.v0.2+json');
    const service = (url: string, start: string) => ({ url, majorApiVersion: 1, validFor: { start }, operator: 'Test Org' });
    expect(signingConfig.caUrls).toEqual([service('https://fulcio.example.com', '2026-01-01T00:00:00Z')]);
    expect(signingConfig.oidcUrls).toEqual([
      service('https://token.actions.githubusercontent.com', '2026-01-01T00:00:00Z'),
      service('https://login.acme.example', '2026-01-01T00:00:00Z'),
    ]);
    expect(signingConfig.rekorTlogUrls).toEqual([service('https://rekor.example.com', '2026-01-01T00:00:00Z')]);
    expect(signingConfig.tsaUrls).toEqual([service('https://tsa.example.com/api/v1/timestamp', '2026-01-01T00:00:00Z')]);
    expect(signingConfig.rekorTlogConfig).toEqual({ selector: 'ANY' });
    expect(signingConfig.tsaConfig).toEqual({ selector: 'ANY' });
  });

  it('uses in-cluster URLs without hostnames, and no OIDC URL without issuers', () => {
    const signingConfig = buildSigningConfig(material, fixtureConfig());
    expect(signingConfig.caUrls[0].url).toBe('http://fulcio.sigstore-system.svc');
    expect(signingConfig.tsaUrls[0].url).toBe('http://tsa.sigstore-system.svc/api/v1/timestamp');
    expect(signingConfig.oidcUrls).toEqual([]);
  });

  it('round-trips through the protobuf-specs SigningConfig unchanged (every field name and enum value is known)', () => {
    const config = fixtureConfig('oidc:\n  issuers: [{ url: "https://issuer.example.com" }]\n');
    const json = JSON.parse(JSON.stringify(buildSigningConfig(material, config)));
    const parsed = SigningConfig.fromJSON(json);
    expect(parsed.rekorTlogConfig?.selector).toBe(ServiceSelector.ANY);
    expect(parsed.caUrls[0].validFor?.start).toEqual(new Date('2026-01-01T00:00:00Z'));
    // toJSON writes timestamps with milliseconds; otherwise what comes back is what went in.
    const roundTrip = JSON.parse(JSON.stringify(SigningConfig.toJSON(parsed)).replace(/\.000Z/g, 'Z'));
    expect(roundTrip).toEqual(json);
  });
});

describe('rekorServiceAt: the Rekor a client signs with at a time', () => {
  const service = (url: string, majorApiVersion: number, start: string, end?: string) => ({ url, majorApiVersion, validFor: { start, ...(end ? { end } : {}) }, operator: 'Test Org' });
  // As buildSigningConfig lists a migration: Rekor v1 until the cut-over, Rekor v2 from it.
  const migrated = {
    rekorTlogUrls: [service('https://rekor.example.com', 1, '2026-01-01T00:00:00Z', '2026-06-20T00:00:00Z'), service('https://rekor-v2.example.com', 2, '2026-06-20T00:00:00Z')],
  };

  it('before the cut-over Rekor v1, from the cut-over (inclusive) Rekor v2', () => {
    expect(rekorServiceAt(migrated, new Date('2026-06-19T23:59:59Z'))).toEqual({ url: 'https://rekor.example.com', majorApiVersion: 1 });
    expect(rekorServiceAt(migrated, new Date('2026-06-20T00:00:00Z'))).toEqual({ url: 'https://rekor-v2.example.com', majorApiVersion: 2 });
    expect(rekorServiceAt(migrated, new Date('2030-01-01T00:00:00Z'))).toEqual({ url: 'https://rekor-v2.example.com', majorApiVersion: 2 });
  });

  it('of overlapping services the latest-starting one; none before every start', () => {
    const overlapping = { rekorTlogUrls: [service('https://old.example.com', 1, '2026-01-01T00:00:00Z'), service('https://new.example.com', 2, '2026-03-01T00:00:00Z')] };
    expect(rekorServiceAt(overlapping, new Date('2026-04-01T00:00:00Z'))?.url).toBe('https://new.example.com');
    expect(rekorServiceAt(overlapping, new Date('2026-02-01T00:00:00Z'))?.url).toBe('https://old.example.com');
    expect(rekorServiceAt(migrated, new Date('2025-12-31T23:59:59Z'))).toBeUndefined();
  });
});
