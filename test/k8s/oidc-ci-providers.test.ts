import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILT_IN_CI_PROVIDERS, ciTemplateProblem } from '../../lib/config/ci-providers';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { configError } from '../helpers/config';
import { fixtureConfig, fixtureMaterial } from '../helpers/fixture-state';
import { chartInput, find, synthesizeCluster } from './cluster-fixture';
import { flowDifferences } from './network-flows';

/* eslint-disable @typescript-eslint/no-explicit-any */

/*
 * The JSON names of Fulcio 1.8.8's config structs, as its Go struct tags spell them:
 * sigstore/fulcio v1.8.8 pkg/config/config.go (FulcioConfig, OIDCIssuer, IssuerMetadata) and
 * pkg/certificate/extensions.go (Extensions). Fulcio reads its config with encoding/json, which
 * ignores unknown keys: a misspelt key would be dropped silently, so every key written must be one.
 */
const FULCIO_CONFIG_KEYS = ['OIDCIssuers', 'MetaIssuers', 'CIIssuerMetadata'];
const OIDC_ISSUER_KEYS = ['IssuerURL', 'ClientID', 'Type', 'CIProvider', 'IssuerClaim', 'SubjectDomain', 'SPIFFETrustDomain', 'ChallengeClaim', 'Description', 'Contact', 'SkipEmailVerification', 'CACert'];
const ISSUER_METADATA_KEYS = ['DefaultTemplateValues', 'ExtensionTemplates', 'SubjectAlternativeNameTemplate'];
const EXTENSION_KEYS = (
  'GithubWorkflowTrigger GithubWorkflowSHA GithubWorkflowName GithubWorkflowRepository GithubWorkflowRef BuildSignerURI BuildSignerDigest RunnerEnvironment ' +
  'SourceRepositoryURI SourceRepositoryDigest SourceRepositoryRef SourceRepositoryIdentifier SourceRepositoryOwnerURI SourceRepositoryOwnerIdentifier BuildConfigURI ' +
  'BuildConfigDigest BuildTrigger RunInvocationURI SourceRepositoryVisibilityAtSigning DeploymentEnvironment Subject'
).split(' ');

/** Every key of a Fulcio config is one Fulcio 1.8.8 reads, at every level. */
function expectFulcioFormat(config: any): void {
  expect(Object.keys(config).filter((key) => !FULCIO_CONFIG_KEYS.includes(key))).toEqual([]);
  for (const issuer of [...Object.values(config.OIDCIssuers ?? {}), ...Object.values(config.MetaIssuers ?? {})] as any[]) {
    expect(Object.keys(issuer).filter((key) => !OIDC_ISSUER_KEYS.includes(key))).toEqual([]);
    if (issuer.Type === 'ci-provider') expect(Object.keys(config.CIIssuerMetadata ?? {})).toContain(issuer.CIProvider);
  }
  for (const metadata of Object.values(config.CIIssuerMetadata ?? {}) as any[]) {
    expect(Object.keys(metadata).filter((key) => !ISSUER_METADATA_KEYS.includes(key))).toEqual([]);
    expect(Object.keys(metadata.ExtensionTemplates).filter((key) => !EXTENSION_KEYS.includes(key))).toEqual([]);
    expect(metadata.SubjectAlternativeNameTemplate.trim()).not.toBe('');
    for (const template of [...Object.values(metadata.ExtensionTemplates), metadata.SubjectAlternativeNameTemplate] as string[]) expect(ciTemplateProblem(template)).toBeUndefined();
  }
}

const CI_YAML = `
oidc:
  ciProviders:
    gitlab-example:
      template: gitlab-ci
      defaultTemplateValues: { url: "https://gitlab.example.com" }
  issuers:
    - { url: https://token.actions.githubusercontent.com, type: ci-provider, ciProvider: github-actions }
  tenants:
    - name: acme
      issuers:
        - { url: https://gitlab.example.com, type: ci-provider, ciProvider: gitlab-example }
  metaIssuers:
    - { url: "https://login.microsoftonline.com/*/v2.0" }
    - { url: "https://*.oic.example-aks.com:8443/*/*", type: kubernetes }
`;

let directory: string;
let material: PkiMaterial;
beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-oidc-'));
  material = await fixtureMaterial(directory);
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('Fulcio ci-provider issuers and meta-issuers', () => {
  it('writes OIDCIssuers with CIProvider, MetaIssuers and the CIIssuerMetadata they name, in Fulcio 1.8.8\'s format', () => {
    const cluster = synthesizeCluster(chartInput(material, CI_YAML));
    const config = JSON.parse(find(cluster.public, 'ConfigMap', 'fulcio-config').data['config.json']);
    expectFulcioFormat(config);
    expect(config.OIDCIssuers['https://token.actions.githubusercontent.com']).toEqual({
      IssuerURL: 'https://token.actions.githubusercontent.com',
      ClientID: 'sigstore',
      Type: 'ci-provider',
      CIProvider: 'github-actions',
    });
    expect(config.OIDCIssuers['https://gitlab.example.com'].CIProvider).toBe('gitlab-example');
    expect(Object.keys(config.CIIssuerMetadata)).toEqual(['github-actions', 'gitlab-example']);
    // GitHub Actions: the public instance's templates (config/identity/config.yaml of Fulcio 1.8.8).
    const github = config.CIIssuerMetadata['github-actions'];
    expect(github.SubjectAlternativeNameTemplate).toBe('{{ .url }}/{{ .job_workflow_ref }}');
    expect(github.DefaultTemplateValues).toEqual({ url: 'https://github.com', environment: '' });
    expect(github.ExtensionTemplates).toMatchObject({ BuildSignerURI: '{{ .url }}/{{ .job_workflow_ref }}', SourceRepositoryDigest: 'sha', GithubWorkflowSHA: 'sha', RunInvocationURI: expect.stringContaining('/actions/runs/') });
    // A self-hosted GitLab: the GitLab templates with its own base URL.
    const gitlab = config.CIIssuerMetadata['gitlab-example'];
    expect(gitlab.DefaultTemplateValues.url).toBe('https://gitlab.example.com');
    expect(gitlab.ExtensionTemplates.SourceRepositoryRef).toBe(BUILT_IN_CI_PROVIDERS['gitlab-ci'].extensionTemplates.sourceRepositoryRef);
    expect(gitlab.SubjectAlternativeNameTemplate).toBe('https://{{ .ci_config_ref_uri }}');
    expect(config.MetaIssuers).toEqual({
      'https://*.oic.example-aks.com:8443/*/*': { ClientID: 'sigstore', Type: 'kubernetes' },
      'https://login.microsoftonline.com/*/v2.0': { ClientID: 'sigstore', Type: 'email' },
    });
    // The NetworkPolicy lets Fulcio reach the meta-issuers on their ports (8443 here), nothing more.
    expect(flowDifferences(cluster.public, fixtureConfig(CI_YAML).networkPolicy)).toEqual({ missing: [], extra: [] });
    const egress = find(cluster.public, 'NetworkPolicy', 'fulcio').spec.egress.flatMap((rule: any) => (rule.ports ?? []).map((port: any) => port.port));
    expect(egress).toContain(8443);
  });

  it('a declared provider overrides templates, and needs a SAN template when it has no built-in to start from', () => {
    const cluster = synthesizeCluster(
      chartInput(
        material,
        `oidc:\n  ciProviders:\n    forgejo:\n      extensionTemplates: { sourceRepositoryUri: "{{ .url }}/{{ .repository }}", buildTrigger: event_name }\n      defaultTemplateValues: { url: "https://forge.example.com" }\n      subjectAlternativeNameTemplate: "{{ .url }}/{{ .workflow_ref }}"\n  issuers:\n    - { url: https://forge.example.com/api/actions, type: ci-provider, ciProvider: forgejo }\n`,
      ),
    );
    const config = JSON.parse(find(cluster.public, 'ConfigMap', 'fulcio-config').data['config.json']);
    expectFulcioFormat(config);
    expect(config.CIIssuerMetadata.forgejo).toEqual({
      DefaultTemplateValues: { url: 'https://forge.example.com' },
      ExtensionTemplates: { SourceRepositoryURI: '{{ .url }}/{{ .repository }}', BuildTrigger: 'event_name' },
      SubjectAlternativeNameTemplate: '{{ .url }}/{{ .workflow_ref }}',
    });
    const error = configError('organization: x\noidc:\n  ciProviders:\n    forgejo: { extensionTemplates: { buildTrigger: event_name } }\n');
    expect(error.message).toContain('oidc.ciProviders.forgejo');
    expect(error.message).toContain('expected subjectAlternativeNameTemplate');
  });

  it.each([
    ['a ci-provider issuer without ciProvider', 'issuers: [{ url: https://ci.example.com, type: ci-provider }]', 'oidc.issuers[0].ciProvider', 'expected ciProvider because type is "ci-provider"'],
    ['an unknown provider', 'issuers: [{ url: https://ci.example.com, type: ci-provider, ciProvider: jenkins }]', 'oidc.issuers[0].ciProvider', 'expected a CI provider that exists: "github-actions", "gitlab-ci"'],
    ['a provider shadowing a built-in', 'ciProviders: { github-actions: { template: github-actions } }', 'oidc.ciProviders.github-actions', 'is a built-in provider'],
    ['an unknown extension', 'ciProviders: { x: { template: gitlab-ci, extensionTemplates: { buildSignerUrl: a } } }', 'oidc.ciProviders.x.extensionTemplates.buildSignerUrl', 'unknown field'],
    ['a template that does not parse', 'ciProviders: { x: { template: gitlab-ci, subjectAlternativeNameTemplate: "{{ .url" } }', 'oidc.ciProviders.x.subjectAlternativeNameTemplate', 'closed by "}}"'],
    ['a meta-issuer without a wildcard', 'metaIssuers: [{ url: https://login.example.com/v2.0 }]', 'oidc.metaIssuers[0].url', 'expected a URL with at least one "*"'],
    ['a wildcard in the registrable domain', 'metaIssuers: [{ url: "https://login.*.com/v2.0" }]', 'oidc.metaIssuers[0].url', 'the last two labels of the host to be literal'],
    ['a spiffe meta-issuer (Fulcio refuses them)', 'metaIssuers: [{ url: "https://*.example.com", type: spiffe }]', 'oidc.metaIssuers[0].type', 'spiffe'],
    ['a meta-issuer listed twice', 'metaIssuers: [{ url: "https://*.example.com" }, { url: "https://*.example.com" }]', 'oidc.metaIssuers[1].url', 'expected each meta-issuer URL once'],
  ])('refuses %s, naming the field and what is accepted', (_what, oidcYaml, field, expected) => {
    const error = configError(`organization: x\noidc:\n  ${oidcYaml}\n`);
    expect(error.message).toContain(field);
    expect(error.message).toContain(expected);
  });
});

describe('ciTemplateProblem: what Go\'s text/template parses, for the subset Fulcio\'s own templates use', () => {
  it('accepts every built-in template and plain claim names', () => {
    for (const provider of Object.values(BUILT_IN_CI_PROVIDERS)) {
      for (const template of [...Object.values(provider.extensionTemplates), provider.subjectAlternativeNameTemplate]) expect({ template, problem: ciTemplateProblem(template!) }).toEqual({ template, problem: undefined });
    }
    expect(ciTemplateProblem('{{- .a -}}/{{ if and (eq .x "y") }}{{ end }}')).toMatch(/condition/); // parentheses are outside the subset
    expect(ciTemplateProblem('{{ if ne .ref_type "tag" }}b{{ else if eq .x "y" }}c{{ else }}d{{ end }}')).toBeUndefined();
  });

  it.each([
    ['{{ .a }', 'closed by "}}"'],
    ['{{ .a }}{{ .b', 'closed by "}}"'],
    ['{{ end }}', 'close an "if"'],
    ['{{ if .a }}x', 'closed by {{ end }}'],
    ['{{ .a | printf "%s" }}', 'expected {{ .claim }}'],
    ['{{ }}', 'an action'],
    ['not a claim', 'expected a claim name'],
  ])('refuses %j', (template, expected) => {
    expect(ciTemplateProblem(template)).toContain(expected);
  });
});
