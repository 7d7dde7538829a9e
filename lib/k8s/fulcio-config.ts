import { BUILT_IN_CI_PROVIDERS, fulcioIssuerMetadata, resolveCiProvider, type BuiltInCiProvider, type CiProviderDeclaration } from '../config/ci-providers';
import { formatFieldPath } from '../config/field-rules';
import { describeIssuer, issuerConflicts, issuerListings, issuerProblems, oidcSectionProblems } from '../config/oidc-rules';
import type { MetaIssuerConfig, OidcIssuerConfig, SigstoreConfig } from '../config/schema';
import { ChartError } from '../errors';

/** One issuer Fulcio trusts, with who asked for it. */
export interface TrustedIssuer {
  readonly issuer: OidcIssuerConfig;
  /** `oidc.issuers` for the global list, else the tenant names that list it. */
  readonly listedBy: readonly string[];
}

/**
 * The runbook's multi-issuer setup: every tenant lists the issuers it allows, and Fulcio trusts their
 * union (plus the global `oidc.issuers`). The same URL listed twice must be configured identically
 * (oidc-rules.ts issuerConflicts, the rule the configuration schema applies too); the result is sorted
 * by URL, so the config file does not change when tenants are reordered.
 */
export function trustedIssuers(oidc: Pick<SigstoreConfig['oidc'], 'issuers' | 'tenants'>): TrustedIssuer[] {
  const listings = issuerListings(oidc);
  const [conflict] = issuerConflicts(listings);
  if (conflict) {
    throw new ChartError(
      'CHART_PROPS_INVALID',
      `oidc: issuer ${conflict.url} is configured differently by ${conflict.first.listedBy} (${describeIssuer(conflict.first.issuer)}) ` +
        `and by ${conflict.second.listedBy} (${describeIssuer(conflict.second.issuer)}); Fulcio has one entry per issuer URL, so give them the same type, clientId, subjectDomain and ciProvider`,
    );
  }
  const byUrl = new Map<string, { issuer: OidcIssuerConfig; listedBy: string[] }>();
  for (const { issuer, listedBy } of listings as { issuer: OidcIssuerConfig; listedBy: string }[]) {
    const existing = byUrl.get(issuer.url);
    if (!existing) byUrl.set(issuer.url, { issuer, listedBy: [listedBy] });
    else if (!existing.listedBy.includes(listedBy)) existing.listedBy.push(listedBy);
  }
  return [...byUrl.values()].sort((a, b) => (a.issuer.url < b.issuer.url ? -1 : a.issuer.url > b.issuer.url ? 1 : 0));
}

/**
 * Fulcio's config file (JSON, PascalCase keys; sigstore/fulcio pkg/config) for these issuers. Refuses
 * what Fulcio 1.8.8 would refuse at startup, or what the chart cannot write (oidc-rules.ts issuerProblems,
 * the rule the configuration schema applies too).
 */
/** What Fulcio's config holds besides the exact issuers. */
export interface FulcioOidcExtras {
  /** Fulcio's MetaIssuers: wildcard URLs. @default - none */
  readonly metaIssuers?: readonly MetaIssuerConfig[];
  /** Declared CI providers by key (besides the built-ins). @default - none */
  readonly ciProviders?: Readonly<Record<string, CiProviderDeclaration>>;
}

/**
 * Fulcio's config file (JSON, PascalCase keys; sigstore/fulcio v1.8.8 pkg/config/config.go
 * FulcioConfig) for these issuers: `OIDCIssuers` by URL, `MetaIssuers` by wildcard URL, and
 * `CIIssuerMetadata` for exactly the CI providers an issuer names. Refuses what Fulcio 1.8.8 would
 * refuse at startup or fail on at request time, or what the chart cannot write (oidc-rules.ts
 * issuerProblems and oidcSectionProblems, the rules the configuration schema applies too).
 */
export function fulcioConfigJson(issuers: readonly TrustedIssuer[], extras: FulcioOidcExtras = {}): string {
  const metaIssuers = extras.metaIssuers ?? [];
  const ciProviders = extras.ciProviders ?? {};
  const [sectionProblem] = oidcSectionProblems({ issuers: issuers.map((trusted) => trusted.issuer), metaIssuers, ciProviders });
  if (sectionProblem) {
    throw new ChartError(
      'CHART_PROPS_INVALID',
      `oidc: ${formatFieldPath(sectionProblem.path)} ${sectionProblem.input === undefined ? 'is missing' : `${JSON.stringify(sectionProblem.input)} is invalid`}; ${sectionProblem.message}`,
    );
  }
  const oidcIssuers: Record<string, Record<string, string>> = {};
  for (const { issuer, listedBy } of issuers) {
    const [problem] = issuerProblems(issuer);
    if (problem) {
      throw new ChartError(
        problem.unsupported ? 'CHART_OIDC_UNSUPPORTED' : 'CHART_PROPS_INVALID',
        `oidc: issuer ${issuer.url} (listed by ${listedBy.join(', ')}): ${problem.field} ` +
          `${problem.input === undefined ? 'is missing' : `${JSON.stringify(problem.input)} is invalid`}; ${problem.message}`,
      );
    }
    const entry: Record<string, string> = { IssuerURL: issuer.url, ClientID: issuer.clientId, Type: issuer.type };
    if (issuer.ciProvider !== undefined) entry.CIProvider = issuer.ciProvider;
    // Fulcio wants a scheme for uri subject domains, and none for username ones.
    if (issuer.type === 'uri') entry.SubjectDomain = `https://${issuer.subjectDomain}`;
    if (issuer.type === 'username') entry.SubjectDomain = issuer.subjectDomain!;
    oidcIssuers[issuer.url] = entry;
  }
  const meta: Record<string, Record<string, string>> = {};
  for (const issuer of [...metaIssuers].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0))) {
    // Fulcio keys meta-issuers by their wildcard URL and fills IssuerURL from the token (GetIssuer).
    meta[issuer.url] = { ClientID: issuer.clientId, Type: issuer.type, ...(issuer.ciProvider === undefined ? {} : { CIProvider: issuer.ciProvider }) };
  }
  const providerKeys = [...new Set([...issuers.map((trusted) => trusted.issuer.ciProvider), ...metaIssuers.map((issuer) => issuer.ciProvider)].filter((key): key is string => key !== undefined))].sort();
  const metadata: Record<string, unknown> = {};
  for (const key of providerKeys) {
    const declared = ciProviders[key];
    metadata[key] = fulcioIssuerMetadata(declared ? resolveCiProvider(declared) : BUILT_IN_CI_PROVIDERS[key as BuiltInCiProvider]);
  }
  return `${JSON.stringify(
    {
      OIDCIssuers: oidcIssuers,
      ...(metaIssuers.length ? { MetaIssuers: meta } : {}),
      ...(providerKeys.length ? { CIIssuerMetadata: metadata } : {}),
    },
    null,
    2,
  )}\n`;
}
