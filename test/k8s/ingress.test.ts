import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plainHttpHostWarnings } from '../../lib/config/service-urls';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { configError } from '../helpers/config';
import { fixtureConfig, fixtureMaterial } from '../helpers/fixture-state';
import { chartInput, find, synthesizeCluster } from './cluster-fixture';
import { schemaErrors } from './kubernetes-schema';
import { flowDifferences } from './network-flows';

/* eslint-disable @typescript-eslint/no-explicit-any */

const HOSTS_YAML = `
cluster:
  ingressTlsSecret: sigstore-wildcard-tls
  ingressAnnotations:
    cert-manager.io/cluster-issuer: letsencrypt
    nginx.ingress.kubernetes.io/proxy-body-size: "8m"
services:
  fulcio: { hostname: fulcio.example.com, grpcHostname: fulcio-grpc.example.com, grpcTlsSecret: fulcio-grpc-tls }
  rekor: { hostname: rekor.example.com, tlsSecret: rekor-tls, ingressAnnotations: { nginx.ingress.kubernetes.io/proxy-body-size: "32m" } }
  tsa: { hostname: tsa.example.com }
images:
  pullSecrets: [swr-pull]
`;

let directory: string;
let material: PkiMaterial;
beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-ingress-'));
  material = await fixtureMaterial(directory);
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('Ingresses for real TLS setups', () => {
  it('TLS per host or shared, annotations merged (the host\'s over the shared), Fulcio\'s gRPC host with its own Secret', () => {
    const cluster = synthesizeCluster(chartInput(material, HOSTS_YAML));
    const ingress = (name: string) => find(cluster.public, 'Ingress', name);
    expect(ingress('fulcio').spec.tls).toEqual([{ hosts: ['fulcio.example.com'], secretName: 'sigstore-wildcard-tls' }]);
    expect(ingress('rekor').spec.tls).toEqual([{ hosts: ['rekor.example.com'], secretName: 'rekor-tls' }]);
    expect(ingress('tsa').metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt', 'nginx.ingress.kubernetes.io/proxy-body-size': '8m' });
    expect(ingress('rekor').metadata.annotations['nginx.ingress.kubernetes.io/proxy-body-size']).toBe('32m');

    const grpc = ingress('fulcio-grpc');
    expect(grpc.spec.rules).toEqual([{ host: 'fulcio-grpc.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'fulcio', port: { number: 5554 } } } }] } }]);
    expect(grpc.spec.tls).toEqual([{ hosts: ['fulcio-grpc.example.com'], secretName: 'fulcio-grpc-tls' }]);
    expect(grpc.metadata.annotations['nginx.ingress.kubernetes.io/backend-protocol']).toBe('GRPC');
    // The ingress controller may reach Fulcio's gRPC port, and nothing else changed in the flows.
    expect(flowDifferences(cluster.public, fixtureConfig(HOSTS_YAML).networkPolicy)).toEqual({ missing: [], extra: [] });
    for (const object of cluster.public.filter((candidate) => candidate.kind === 'Ingress')) expect(schemaErrors(object)).toEqual([]);
  });

  it('every pod template pulls with the configured imagePullSecrets (Deployments, Jobs)', () => {
    const cluster = synthesizeCluster(chartInput(material, HOSTS_YAML));
    const templates = (cluster.public as any[]).filter((object) => ['Deployment', 'Job', 'CronJob'].includes(object.kind));
    expect(templates.length).toBeGreaterThan(5);
    for (const object of templates) {
      const spec = object.kind === 'CronJob' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec;
      expect({ name: object.metadata.name, pullSecrets: spec.imagePullSecrets }).toEqual({ name: object.metadata.name, pullSecrets: [{ name: 'swr-pull' }] });
    }
    const plain = synthesizeCluster(chartInput(material));
    expect(find(plain.public, 'Deployment', 'fulcio').spec.template.spec.imagePullSecrets).toBeUndefined();
  });

  it('warns for each host without TLS while the published URLs say https, unless TLS ends upstream', () => {
    const warnings = plainHttpHostWarnings(fixtureConfig('services:\n  fulcio: { hostname: fulcio.example.com }\n  tsa: { hostname: tsa.example.com, tlsSecret: tsa-tls }\n'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('services.fulcio.hostname fulcio.example.com has no TLS Secret');
    expect(warnings[0]).toContain('the published URLs say https://fulcio.example.com');
    expect(plainHttpHostWarnings(fixtureConfig('cluster: { tlsTerminatedUpstream: true }\nservices:\n  fulcio: { hostname: fulcio.example.com }\n'))).toEqual([]);
    expect(plainHttpHostWarnings(fixtureConfig(HOSTS_YAML))).toEqual([]);
  });

  it.each([
    ['a gRPC host without TLS', 'services:\n  fulcio: { grpcHostname: fulcio-grpc.example.com }\n', 'services.fulcio.grpcHostname', 'gRPC needs HTTP/2'],
    ['the gRPC host equal to another host', 'cluster: { ingressTlsSecret: t }\nservices:\n  rekor: { hostname: a.example.com }\n  fulcio: { grpcHostname: a.example.com }\n', 'services.fulcio.grpcHostname', 'services.rekor.hostname is already'],
    ['an annotation key that is not one', 'cluster:\n  ingressAnnotations: { "bad key": x }\n', 'cluster.ingressAnnotations', 'expected an annotation key'],
    ['an annotation value that is not a string', 'cluster:\n  ingressAnnotations: { a.example.com/b: 8 }\n', 'cluster.ingressAnnotations', 'quote numbers'],
    ['a pull secret that is not a Secret name', 'images:\n  pullSecrets: [Bad_Name]\n', 'images.pullSecrets[0]', 'Secret'],
  ])('refuses %s, naming the field', (_what, yaml, field, expected) => {
    const error = configError(`organization: x\n${yaml}`);
    expect(error.message).toContain(field);
    expect(error.message).toContain(expected);
  });
});
