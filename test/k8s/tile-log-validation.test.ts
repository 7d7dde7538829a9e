import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import { Chart, Testing } from 'cdk8s';
import { IMAGES, imageReference } from '../../lib/config/images';
import { ChartError } from '../../lib/errors';
import { RekorTiles } from '../../lib/k8s/rekor-tiles';
import { TesseraCt } from '../../lib/k8s/tesseract';
import { IN_MEMORY_OUTDIR } from '../helpers/temp-directory';

const chart = () => new Chart(Testing.app({ outdir: IN_MEMORY_OUTDIR }), 'test', { namespace: 'sigstore-system', disableResourceNameHashes: true });
const secrets = () => new Chart(Testing.app({ outdir: IN_MEMORY_OUTDIR }), 'secrets', { namespace: 'sigstore-system', disableResourceNameHashes: true });
const problem = (work: () => unknown): ChartError => {
  try {
    work();
  } catch (error) {
    if (error instanceof ChartError) return error;
    throw error;
  }
  throw new Error('expected a ChartError');
};

const ed25519 = generateKeyPairSync('ed25519').privateKey;
const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const rekorProps = {
  namespace: 'sigstore-system',
  origin: 'rekor.example.com',
  signingKeyPem: ed25519.export({ type: 'pkcs8', format: 'pem' }) as string,
  storage: { size: '10Gi' },
  image: imageReference(IMAGES.rekorTilesPosix),
};
const ctProps = {
  namespace: 'sigstore-system',
  prefix: 'sigstore',
  origin: 'ctlog.example.com/sigstore',
  rootsPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  signingKeyPem: p256.export({ type: 'sec1', format: 'pem' }) as string,
  storage: { size: '10Gi' },
  image: imageReference(IMAGES.tesseractPosix),
};

describe('RekorTiles and TesseraCt validate their props, naming the construct path, the prop and the value', () => {
  it('accept the props the chart gives them', () => {
    expect(() => new RekorTiles(chart(), 'RekorTiles', { ...rekorProps, secretsScope: secrets() })).not.toThrow();
    expect(() => new TesseraCt(chart(), 'TesseraCt', { ...ctProps, secretsScope: secrets() })).not.toThrow();
  });

  it('RekorTiles: an origin that is not a hostname, an unpinned image, an encrypted key, a bad volume size', () => {
    expect(problem(() => new RekorTiles(chart(), 'RekorTiles', { ...rekorProps, origin: 'https://rekor.example.com', secretsScope: secrets() })).message).toMatch(/test\/RekorTiles: origin .*https:\/\/rekor\.example\.com/);
    expect(problem(() => new RekorTiles(chart(), 'RekorTiles', { ...rekorProps, image: 'ghcr.io/sigstore/rekor-tiles/posix:v2.2.1', secretsScope: secrets() })).message).toMatch(/image/);
    const encrypted = ed25519.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }) as string;
    const keyProblem = problem(() => new RekorTiles(chart(), 'RekorTiles', { ...rekorProps, signingKeyPem: encrypted, secretsScope: secrets() }));
    expect(keyProblem.message).toMatch(/signingKeyPem "<secret>" is invalid; expected an unencrypted PEM private key/);
    expect(keyProblem.message).not.toContain('ENCRYPTED');
    expect(problem(() => new RekorTiles(chart(), 'RekorTiles', { ...rekorProps, storage: { size: '10GB' }, secretsScope: secrets() })).message).toMatch(/storage\.size "?10GB"?/);
  });

  it('TesseraCt: an origin that is not the log URL without scheme, a bad prefix, no roots', () => {
    expect(problem(() => new TesseraCt(chart(), 'TesseraCt', { ...ctProps, origin: 'ctlog.example.com', secretsScope: secrets() })).message).toMatch(
      /test\/TesseraCt: origin "?ctlog\.example\.com"? is invalid; expected the log URL without scheme, ending in "\/sigstore"/,
    );
    expect(problem(() => new TesseraCt(chart(), 'TesseraCt', { ...ctProps, prefix: 'Bad/Prefix', secretsScope: secrets() })).message).toMatch(/prefix/);
    expect(problem(() => new TesseraCt(chart(), 'TesseraCt', { ...ctProps, rootsPem: '', secretsScope: secrets() })).message).toMatch(/rootsPem/);
  });
});
