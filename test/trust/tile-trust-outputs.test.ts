import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { publicKeyPem } from '../../lib/pki/keys';
import { buildSigningConfig } from '../../lib/trust/signing-config';
import { trustOutputFiles } from '../../lib/trust/trust-outputs';
import { buildTufTargets } from '../../lib/trust/tuf/targets';
import { fixtureConfig, fixtureMaterial } from '../helpers/fixture-state';
import { TILES_PUBLIC_YAML, TILES_YAML, withTileLogKeys } from '../helpers/tile-log-fixture';
import { chartInput, find, synthesizeCluster } from '../k8s/cluster-fixture';

/* eslint-disable @typescript-eslint/no-explicit-any */

let directory: string;
let material: PkiMaterial;
beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-tile-trust-'));
  material = withTileLogKeys(await fixtureMaterial(directory));
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const CONFIGURATIONS: Record<string, string> = {
  'both on tiles, in-cluster names': TILES_YAML,
  'both on tiles, public hostnames': TILES_PUBLIC_YAML,
  'Rekor v2 only': 'logs: { rekor: v2 }\n',
  'TesseraCT only': 'logs: { ct: tesseract }\n',
};

const trustedRootOf = (yaml: string) =>
  JSON.parse(trustOutputFiles(material, fixtureConfig(yaml)).find((file) => file.path === 'trust/trusted_root.json')!.content);

describe.each(Object.entries(CONFIGURATIONS))('trust outputs: %s', (_name, yaml) => {
  it('snapshot of trusted_root.json and the signing config', () => {
    expect(trustedRootOf(yaml)).toMatchSnapshot();
    expect(buildSigningConfig(material, fixtureConfig(yaml))).toMatchSnapshot();
  });

  it('checkpoint origins in the manifests match the trusted root URLs; the signing config lists the same Rekor', () => {
    const config = fixtureConfig(yaml);
    const root = trustedRootOf(yaml);
    const cluster = synthesizeCluster(chartInput(material, yaml));
    const args = (name: string): string[] => find(cluster.public, 'Deployment', name).spec.template.spec.containers[0].args;
    const flag = (name: string, key: string) => args(name).find((arg) => arg.startsWith(`${key}=`))?.slice(key.length + 1);
    const withoutScheme = (url: string) => url.replace(/^https?:\/\//, '');
    if (config.logs.rekor === 'v2') expect(flag('rekor', '--hostname')).toBe(withoutScheme(root.tlogs[0].baseUrl));
    if (config.logs.ct === 'tesseract') expect(flag('ctlog', '--origin')).toBe(withoutScheme(root.ctlogs[0].baseUrl));
    const signing = buildSigningConfig(material, config);
    expect(signing.rekorTlogUrls.map((service) => [service.url, service.majorApiVersion])).toEqual([[root.tlogs[0].baseUrl, config.logs.rekor === 'v2' ? 2 : 1]]);
  });
});

describe('the public key files and the TUF targets follow the logs the environment runs', () => {
  it('rekor.pub / ctlog.pub and the legacy targets are the tile-based logs\' keys', () => {
    const config = fixtureConfig(TILES_YAML);
    const files = trustOutputFiles(material, config);
    const content = (path: string) => files.find((file) => file.path === path)!.content;
    expect(content('trust/rekor.pub')).toBe(publicKeyPem(material.tileLogs!.rekorV2!.publicKey));
    expect(content('trust/ctlog.pub')).toBe(publicKeyPem(material.tileLogs!.tesseract!.publicKey));
    const targets = buildTufTargets(material, config);
    expect(targets.find((target) => target.name === 'rekor.pub')!.content).toBe(publicKeyPem(material.tileLogs!.rekorV2!.publicKey));
    expect(targets.find((target) => target.name === 'ctfe.pub')!.content).toBe(publicKeyPem(material.tileLogs!.tesseract!.publicKey));
  });

  it('the default configuration is unchanged: Rekor v1 and ct_server keys, API version 1', () => {
    const config = fixtureConfig('');
    const root = trustedRootOf('');
    expect(root.tlogs[0].publicKey.keyDetails).toBe('PKIX_ECDSA_P256_SHA_256');
    expect(trustOutputFiles(material, config).find((file) => file.path === 'trust/rekor.pub')!.content).toBe(publicKeyPem(material.rekor.publicKey));
    expect(buildSigningConfig(material, config).rekorTlogUrls[0].majorApiVersion).toBe(1);
  });
});
