import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ISSUER_URL_MAX_LENGTH, ORGANIZATION_MAX_LENGTH, publicHostnameProblem } from '../../lib/config/field-rules';
import { MAX_DISTINCT_ISSUERS } from '../../lib/config/oidc-rules';
import type { SigstoreConfig } from '../../lib/config/schema';
import { ChartError } from '../../lib/errors';
import { buildClusterCharts, clusterManifestFiles } from '../../lib/k8s/cluster-manifests';
import type { SigstoreChartInput } from '../../lib/k8s/sigstore-chart';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { buildSigningConfig, serializeSigningConfig } from '../../lib/trust/signing-config';
import { fixtureConfig, fixtureMaterial } from '../helpers/fixture-state';
import { TEST_PASSWORDS } from './cluster-fixture';

/*
 * Issue 9, case 7: the configuration schema and the cluster chart share their rules
 * (lib/config/field-rules.ts, lib/config/oidc-rules.ts). A configuration the schema accepts always
 * builds; one built in code without the schema meets the same rule in the construct, with its
 * construct path.
 */

let directory: string;
let material: PkiMaterial;
beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-config-chart-'));
  material = await fixtureMaterial(directory);
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const input = (config: SigstoreConfig): SigstoreChartInput => ({ config, material, passwords: TEST_PASSWORDS });

function chartError(config: SigstoreConfig): ChartError {
  try {
    buildClusterCharts(input(config));
  } catch (error) {
    if (error instanceof ChartError) return error;
    throw error;
  }
  throw new Error('expected a ChartError');
}

describe('a configuration built without the schema meets the same rules in the constructs', () => {
  const base = fixtureConfig();

  it('an IP address as a public hostname: the Ingress refuses it with the schema\'s words', () => {
    const config = { ...base, services: { ...base.services, fulcio: { replicas: 1, hostname: '10.0.0.1' } } };
    expect(chartError(config).message).toBe(`sigstore/Ingress-fulcio: hostname "10.0.0.1" is invalid; ${publicHostnameProblem('10.0.0.1')}`);
  });

  it('a free-text ingressClassName and storageClassName', () => {
    const ingress = { ...base, cluster: { ...base.cluster, ingressClassName: 'public nginx' }, services: { ...base.services, tuf: { replicas: 1, hostname: 'tuf.example.com' } } };
    expect(chartError(ingress).message).toMatch(/^sigstore\/Ingress-tuf: ingressClassName "public nginx" is invalid; expected a DNS-1123 subdomain name/);
    const storage = { ...base, database: { kind: 'in-cluster' as const, storageSize: '5Gi', storageClassName: 'fast ssd' } };
    expect(chartError(storage).message).toMatch(/^sigstore\/MySql: database\.storageClassName "fast ssd" is invalid; expected a DNS-1123 subdomain name/);
  });

  it('a database host a DSN would split, duplicate namespaces and NTP servers', () => {
    const database = { ...base, database: { kind: 'external' as const, host: 'db;reboot', port: 3306, name: 'trillian', credentialsSecret: 'trillian-db' } };
    expect(chartError(database).message).toMatch(/^sigstore\/MySql: database\.host "db;reboot" is invalid; expected a host name/);
    const namespaces = { ...base, cluster: { ...base.cluster, trustRootNamespaces: ['forge', 'forge'] } };
    expect(chartError(namespaces).message).toBe('sigstore/TrustRoots: namespaces[] "forge" is invalid; expected each namespace once');
    const ntp = { ...base, services: { ...base.services, tsa: { replicas: 1, ntpMonitoring: true, ntpServers: ['ntp.example.com', 'ntp.example.com'] } } };
    expect(chartError(ntp).message).toBe('sigstore/TimestampAuthority: ntpMonitoring.servers[] "ntp.example.com" is invalid; expected each server once');
  });
});

describe('what the schema accepts, the chart builds', () => {
  it('the largest configuration: 100 issuers of the longest URLs and client ids, the longest organization, every hostname', () => {
    const pad = (prefix: string, length: number) => `${prefix}${'a'.repeat(length - prefix.length)}`;
    const issuers = Array.from({ length: MAX_DISTINCT_ISSUERS }, (_, index) => {
      const url = pad(`https://idp${index}.example.com/`, ISSUER_URL_MAX_LENGTH);
      return `    - { url: "${url}", clientId: "${'c'.repeat(255)}" }`;
    });
    const config = fixtureConfig(
      [
        'services:',
        ...['fulcio', 'rekor', 'ctlog', 'tsa', 'tuf'].map((service) => `  ${service}: { hostname: ${'h'.repeat(60)}.${service}.example.com }`),
        'cluster:',
        `  trustRootNamespaces: [${Array.from({ length: 10 }, (_, index) => `forge-${index}`).join(', ')}]`,
        `  ingressClassName: ${'i'.repeat(63)}.${'j'.repeat(63)}.${'k'.repeat(63)}.example`,
        'oidc:',
        '  issuers:',
        ...issuers,
      ].join('\n'),
    );
    const organization = 'Ä'.repeat(ORGANIZATION_MAX_LENGTH);
    const largest = { ...config, organization };
    const files = clusterManifestFiles(input(largest));
    expect(files.map((file) => file.path)).toEqual(['sigstore.k8s.yaml', 'sigstore.secrets.k8s.yaml']);
    // The signing config of the largest configuration is far below a ConfigMap's 1 MiB.
    expect(Buffer.byteLength(serializeSigningConfig(buildSigningConfig(material, largest)))).toBeLessThan(200 * 1024);
  });
});
