import type { OidcIssuerConfig, SigstoreConfig } from '../config/schema';
import { ChartError } from '../errors';

/** One issuer Fulcio trusts, with who asked for it. */
export interface TrustedIssuer {
  readonly issuer: OidcIssuerConfig;
  /** `oidc.issuers` for the global list, else the tenant names that list it. */
  readonly listedBy: readonly string[];
}

/**
 * The runbook's multi-issuer setup: every tenant lists the issuers it allows, and Fulcio trusts their
 * union (plus the global `oidc.issuers`). The same URL listed twice must be configured identically;
 * the result is sorted by URL, so the config file does not change when tenants are reordered.
 */
export function trustedIssuers(oidc: SigstoreConfig['oidc']): TrustedIssuer[] {
  const byUrl = new Map<string, { issuer: OidcIssuerConfig; listedBy: string[] }>();
  const add = (issuer: OidcIssuerConfig, listedBy: string) => {
    const existing = byUrl.get(issuer.url);
    if (!existing) {
      byUrl.set(issuer.url, { issuer, listedBy: [listedBy] });
      return;
    }
    if (JSON.stringify(canonical(existing.issuer)) !== JSON.stringify(canonical(issuer))) {
      throw new ChartError(
        'CHART_PROPS_INVALID',
        `oidc: issuer ${issuer.url} is configured differently by ${existing.listedBy.join(', ')} (${describe(existing.issuer)}) ` +
          `and by ${listedBy} (${describe(issuer)}); Fulcio has one entry per issuer URL, so give them the same type, clientId, subjectDomain and ciProvider`,
      );
    }
    if (!existing.listedBy.includes(listedBy)) existing.listedBy.push(listedBy);
  };
  for (const issuer of oidc.issuers) add(issuer, 'oidc.issuers');
  for (const tenant of oidc.tenants) for (const issuer of tenant.issuers) add(issuer, `tenant ${tenant.name}`);
  return [...byUrl.values()].sort((a, b) => (a.issuer.url < b.issuer.url ? -1 : a.issuer.url > b.issuer.url ? 1 : 0));
}

/** Fulcio's config file (JSON, PascalCase keys; sigstore/fulcio pkg/config) for these issuers. */
export function fulcioConfigJson(issuers: readonly TrustedIssuer[]): string {
  const oidcIssuers: Record<string, Record<string, string>> = {};
  for (const { issuer, listedBy } of issuers) {
    const entry: Record<string, string> = { IssuerURL: issuer.url, ClientID: issuer.clientId, Type: issuer.type };
    switch (issuer.type) {
      case 'uri':
        requireSubjectDomain(issuer);
        // Fulcio wants a scheme for uri subject domains, and none for username ones.
        entry.SubjectDomain = `https://${issuer.subjectDomain}`;
        break;
      case 'username':
        requireSubjectDomain(issuer);
        entry.SubjectDomain = issuer.subjectDomain!;
        break;
      case 'ci-provider':
        throw new ChartError(
          'CHART_OIDC_UNSUPPORTED',
          `oidc: issuer ${issuer.url} (listed by ${listedBy.join(', ')}) has type "ci-provider", which needs CIIssuerMetadata ` +
            'templates this chart does not write yet; use type "github-workflow" or "gitlab-pipeline" for those CI systems',
        );
      default:
        break;
    }
    oidcIssuers[issuer.url] = entry;
  }
  return `${JSON.stringify({ OIDCIssuers: oidcIssuers }, null, 2)}\n`;
}

function requireSubjectDomain(issuer: OidcIssuerConfig): void {
  if (!issuer.subjectDomain) {
    throw new ChartError('CHART_PROPS_INVALID', `oidc: issuer ${issuer.url} has type "${issuer.type}", which needs subjectDomain (e.g. "example.com")`);
  }
}

function canonical(issuer: OidcIssuerConfig) {
  return { url: issuer.url, type: issuer.type, clientId: issuer.clientId, subjectDomain: issuer.subjectDomain ?? null, ciProvider: issuer.ciProvider ?? null };
}

function describe(issuer: OidcIssuerConfig): string {
  return Object.entries(canonical(issuer))
    .filter(([key, value]) => key !== 'url' && value !== null)
    .map(([key, value]) => `${key} ${value}`)
    .join(', ');
}
