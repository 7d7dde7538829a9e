import { describeIssuer, issuerConflicts, issuerListings, issuerProblems } from '../config/oidc-rules';
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
 * union (plus the global `oidc.issuers`). The same URL listed twice must be configured identically
 * (oidc-rules.ts issuerConflicts, the rule the configuration schema applies too); the result is sorted
 * by URL, so the config file does not change when tenants are reordered.
 */
export function trustedIssuers(oidc: SigstoreConfig['oidc']): TrustedIssuer[] {
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
export function fulcioConfigJson(issuers: readonly TrustedIssuer[]): string {
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
    // Fulcio wants a scheme for uri subject domains, and none for username ones.
    if (issuer.type === 'uri') entry.SubjectDomain = `https://${issuer.subjectDomain}`;
    if (issuer.type === 'username') entry.SubjectDomain = issuer.subjectDomain!;
    oidcIssuers[issuer.url] = entry;
  }
  return `${JSON.stringify({ OIDCIssuers: oidcIssuers }, null, 2)}\n`;
}
