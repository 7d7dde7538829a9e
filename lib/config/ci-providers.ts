/*
 * Fulcio's `ci-provider` issuers: a generic principal that fills the certificate's extensions from the
 * token's claims through per-provider templates (`CIIssuerMetadata`). Checked against Fulcio 1.8.8:
 *   - sigstore/fulcio v1.8.8 pkg/config/config.go: FulcioConfig.CIIssuerMetadata (map key = the
 *     issuer's CIProvider), IssuerMetadata {DefaultTemplateValues, ExtensionTemplates,
 *     SubjectAlternativeNameTemplate}, validateCIIssuerMetadata (every template must parse as a Go
 *     text/template with missingkey=error, else Fulcio exits at start);
 *   - pkg/certificate/extensions.go: the Extensions struct, whose JSON names are the ExtensionTemplates keys;
 *   - pkg/identity/ciprovider/principal.go: a template containing "{{" is executed over the claims
 *     merged over the defaults; any other value names one claim (or default); the SAN template must
 *     not be empty; the metadata is looked up by the issuer's CIProvider, and a missing one fails
 *     every certificate request for that issuer;
 *   - config/identity/config.yaml: the public instance's templates for GitHub Actions
 *     ("github-workflow") and GitLab CI ("gitlab-pipeline"), the source of the two built-ins below.
 */

/** Certificate extensions a CI provider can fill: our camelCase name → Fulcio's JSON key (pkg/certificate/extensions.go; OIDs 1.3.6.1.4.1.57264.1.x). */
export const CI_EXTENSION_NAMES = {
  githubWorkflowTrigger: 'GithubWorkflowTrigger',
  githubWorkflowSha: 'GithubWorkflowSHA',
  githubWorkflowName: 'GithubWorkflowName',
  githubWorkflowRepository: 'GithubWorkflowRepository',
  githubWorkflowRef: 'GithubWorkflowRef',
  buildSignerUri: 'BuildSignerURI',
  buildSignerDigest: 'BuildSignerDigest',
  runnerEnvironment: 'RunnerEnvironment',
  sourceRepositoryUri: 'SourceRepositoryURI',
  sourceRepositoryDigest: 'SourceRepositoryDigest',
  sourceRepositoryRef: 'SourceRepositoryRef',
  sourceRepositoryIdentifier: 'SourceRepositoryIdentifier',
  sourceRepositoryOwnerUri: 'SourceRepositoryOwnerURI',
  sourceRepositoryOwnerIdentifier: 'SourceRepositoryOwnerIdentifier',
  buildConfigUri: 'BuildConfigURI',
  buildConfigDigest: 'BuildConfigDigest',
  buildTrigger: 'BuildTrigger',
  runInvocationUri: 'RunInvocationURI',
  sourceRepositoryVisibilityAtSigning: 'SourceRepositoryVisibilityAtSigning',
  deploymentEnvironment: 'DeploymentEnvironment',
} as const;

export type CiExtensionName = keyof typeof CI_EXTENSION_NAMES;

/** One CI provider's templates, as the environment file writes them (camelCase extension names). */
export interface CiProviderTemplates {
  /** Values for claims a token may lack (e.g. `url`, the forge's base URL). */
  readonly defaultTemplateValues: Readonly<Record<string, string>>;
  readonly extensionTemplates: Readonly<Partial<Record<CiExtensionName, string>>>;
  /** The certificate's SAN (a URI), typically the build signer URI. */
  readonly subjectAlternativeNameTemplate: string;
}

/**
 * The built-in providers, usable as `ciProvider` without declaring them: GitHub Actions and GitLab CI,
 * as sigstore/fulcio v1.8.8 config/identity/config.yaml configures them for the public instance. For a
 * self-hosted GitHub Enterprise or GitLab, declare a provider under `oidc.ciProviders` with
 * `template: github-actions|gitlab-ci` and `defaultTemplateValues.url` set to its base URL.
 */
export const BUILT_IN_CI_PROVIDERS: Readonly<Record<'github-actions' | 'gitlab-ci', CiProviderTemplates>> = {
  'github-actions': {
    defaultTemplateValues: { url: 'https://github.com', environment: '' },
    extensionTemplates: {
      githubWorkflowTrigger: 'event_name',
      githubWorkflowSha: 'sha',
      githubWorkflowName: 'workflow',
      githubWorkflowRepository: 'repository',
      githubWorkflowRef: 'ref',
      buildSignerUri: '{{ .url }}/{{ .job_workflow_ref }}',
      buildSignerDigest: 'job_workflow_sha',
      runnerEnvironment: 'runner_environment',
      sourceRepositoryUri: '{{ .url }}/{{ .repository }}',
      sourceRepositoryDigest: 'sha',
      sourceRepositoryRef: 'ref',
      sourceRepositoryIdentifier: 'repository_id',
      sourceRepositoryOwnerUri: '{{ .url }}/{{ .repository_owner }}',
      sourceRepositoryOwnerIdentifier: 'repository_owner_id',
      buildConfigUri: '{{ .url }}/{{ .workflow_ref }}',
      buildConfigDigest: 'workflow_sha',
      buildTrigger: 'event_name',
      runInvocationUri: '{{ .url }}/{{ .repository }}/actions/runs/{{ .run_id }}/attempts/{{ .run_attempt }}',
      sourceRepositoryVisibilityAtSigning: 'repository_visibility',
      deploymentEnvironment: 'environment',
    },
    subjectAlternativeNameTemplate: '{{ .url }}/{{ .job_workflow_ref }}',
  },
  'gitlab-ci': {
    defaultTemplateValues: { url: 'https://gitlab.com', environment: '' },
    extensionTemplates: {
      buildSignerUri: 'https://{{ .ci_config_ref_uri }}',
      buildSignerDigest: 'ci_config_sha',
      runnerEnvironment: 'runner_environment',
      sourceRepositoryUri: '{{ .url }}/{{ .project_path }}',
      sourceRepositoryDigest: 'sha',
      sourceRepositoryRef: 'refs/{{if eq .ref_type "branch"}}heads/{{ else }}tags/{{end}}{{ .ref }}',
      sourceRepositoryIdentifier: 'project_id',
      sourceRepositoryOwnerUri: '{{ .url }}/{{ .namespace_path }}',
      sourceRepositoryOwnerIdentifier: 'namespace_id',
      buildConfigUri: 'https://{{ .ci_config_ref_uri }}',
      buildConfigDigest: 'ci_config_sha',
      buildTrigger: 'pipeline_source',
      runInvocationUri: '{{ .url }}/{{ .project_path }}/-/jobs/{{ .job_id }}',
      sourceRepositoryVisibilityAtSigning: 'project_visibility',
      deploymentEnvironment: 'environment',
    },
    subjectAlternativeNameTemplate: 'https://{{ .ci_config_ref_uri }}',
  },
};

export type BuiltInCiProvider = keyof typeof BUILT_IN_CI_PROVIDERS;
export const BUILT_IN_CI_PROVIDER_NAMES = Object.keys(BUILT_IN_CI_PROVIDERS) as BuiltInCiProvider[];

/** A declared provider: optionally a built-in to start from, then overrides. */
export interface CiProviderDeclaration {
  readonly template?: BuiltInCiProvider;
  readonly defaultTemplateValues?: Readonly<Record<string, string>>;
  readonly extensionTemplates?: Readonly<Partial<Record<CiExtensionName, string>>>;
  readonly subjectAlternativeNameTemplate?: string;
}

/** The templates of a declared provider: its built-in template (if any) with its own values over it. */
export function resolveCiProvider(declaration: CiProviderDeclaration): CiProviderTemplates {
  const base = declaration.template ? BUILT_IN_CI_PROVIDERS[declaration.template] : { defaultTemplateValues: {}, extensionTemplates: {}, subjectAlternativeNameTemplate: '' };
  return {
    defaultTemplateValues: { ...base.defaultTemplateValues, ...declaration.defaultTemplateValues },
    extensionTemplates: { ...base.extensionTemplates, ...declaration.extensionTemplates },
    subjectAlternativeNameTemplate: declaration.subjectAlternativeNameTemplate ?? base.subjectAlternativeNameTemplate,
  };
}

/** Fulcio's IssuerMetadata JSON (PascalCase keys) for one provider. */
export function fulcioIssuerMetadata(templates: CiProviderTemplates): Record<string, unknown> {
  const extensions: Record<string, string> = {};
  for (const [name, template] of Object.entries(templates.extensionTemplates)) {
    if (template !== undefined) extensions[CI_EXTENSION_NAMES[name as CiExtensionName]] = template;
  }
  return {
    DefaultTemplateValues: { ...templates.defaultTemplateValues },
    ExtensionTemplates: extensions,
    SubjectAlternativeNameTemplate: templates.subjectAlternativeNameTemplate,
  };
}

/** A claim name as a plain (non-template) value names it: what JWT claim names look like. */
const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
const FIELD = /^\.[A-Za-z_][A-Za-z0-9_]*$/;
const STRING_LITERAL = /^"(?:[^"\\]|\\.)*"$/;
const COMPARISONS = new Set(['eq', 'ne', 'and', 'or', 'not']);

/**
 * Why a template Fulcio 1.8.8 would refuse or could never fill, or undefined. A value without "{{"
 * names a claim. A template may use only what the public instance's templates use: `{{ .claim }}`,
 * `{{ if <cond> }}…{{ else }}…{{ end }}` with eq/ne/and/or/not over claims and "strings", and
 * `{{-`/`-}}` trimming; actions must be closed and if/end balanced, which is what Go's text/template
 * parser demands of that subset (validateCIIssuerMetadata).
 */
export function ciTemplateProblem(value: string): string | undefined {
  if (value.length > 1024) return 'expected a template of at most 1024 characters';
  if (!value.includes('{{')) {
    return CLAIM_NAME.test(value)
      ? undefined
      : 'expected a claim name (e.g. "repository_id") or a template with {{ .claim }} actions: Fulcio reads a value without "{{" as the name of one claim';
  }
  let depth = 0;
  let rest = value;
  for (;;) {
    // Text outside actions is copied as it is ("}}" in text too, as Go's parser allows).
    const open = rest.indexOf('{{');
    if (open === -1) break;
    const end = rest.indexOf('}}', open + 2);
    if (end === -1) return 'expected every "{{" to be closed by "}}" (Fulcio refuses to start on a template that does not parse)';
    const action = rest
      .slice(open + 2, end)
      .replace(/^-\s/, '')
      .replace(/\s-$/, '')
      .trim();
    if (action.includes('{{')) return 'expected no "{{" inside an action';
    const words = action.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
    const [keyword, ...condition] = words;
    if (keyword === undefined) return 'expected an action inside "{{ }}"';
    if (keyword === 'if') {
      if (condition.length === 0) return 'expected a condition after "if"';
      depth++;
    } else if (keyword === 'else' && condition.length === 0) {
      if (depth === 0) return 'expected "else" inside an "if"';
    } else if (keyword === 'else' && condition[0] === 'if') {
      if (depth === 0 || condition.length === 1) return 'expected "else if <condition>" inside an "if"';
      condition.splice(0, 1);
    } else if (keyword === 'end' && condition.length === 0) {
      if (depth === 0) return 'expected "end" to close an "if"';
      depth--;
      rest = rest.slice(end + 2);
      continue;
    } else if (words.length === 1 && FIELD.test(keyword)) {
      rest = rest.slice(end + 2);
      continue;
    } else {
      return `expected {{ .claim }}, {{ if … }}, {{ else }} or {{ end }}, not {{${rest.slice(open + 2, end)}}}`;
    }
    for (const word of condition) {
      if (!(FIELD.test(word) || STRING_LITERAL.test(word) || COMPARISONS.has(word))) {
        return `expected a condition of .claims, "strings" and eq/ne/and/or/not, not ${JSON.stringify(word)}`;
      }
    }
    rest = rest.slice(end + 2);
  }
  if (depth !== 0) return 'expected every "if" to be closed by {{ end }}';
  return undefined;
}
