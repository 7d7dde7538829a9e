import { BUILT_IN_CI_PROVIDER_NAMES } from './ci-providers';
import { domainNameProblem, formatFieldPath } from './field-rules';

/*
 * What Fulcio 1.8.8 accepts of the OIDC issuers this chart writes into its config, as rules on the
 * configuration. Fulcio checks its config when it starts (sigstore/fulcio pkg/config/config.go,
 * validateConfig) and exits on a bad one; these rules refuse the same configurations when the
 * environment file is read, before any state is minted. The chart (lib/k8s/fulcio-config.ts) applies
 * the same rules again for callers that build it directly.
 */

/** Fulcio's default issuer type and audience, the schema's defaults. */
export const DEFAULT_ISSUER_TYPE = 'email';
export const DEFAULT_CLIENT_ID = 'sigstore';

/** At most this many distinct issuer URLs: Fulcio's config and the signing config stay far below a ConfigMap's 1 MiB. */
export const MAX_DISTINCT_ISSUERS = 100;

/** An issuer as the rules read it: the raw file (any shape) or the validated configuration. */
export interface IssuerFields {
  readonly url?: unknown;
  readonly type?: unknown;
  readonly clientId?: unknown;
  readonly subjectDomain?: unknown;
  readonly ciProvider?: unknown;
}

/** One problem of one issuer: the field (relative to the issuer), what is expected, the value. */
export interface IssuerProblem {
  readonly field: 'type' | 'subjectDomain' | 'ciProvider';
  readonly message: string;
  readonly input: unknown;
  /** The chart cannot write this issuer at all (rather than: the issuer is misconfigured). */
  readonly unsupported?: boolean;
}

/** Issuer types the chart does not write the extra Fulcio settings of, and why. */
const UNSUPPORTED_TYPES: Record<string, string> = {
  spiffe:
    'expected a type this chart can configure: "spiffe" needs SPIFFETrustDomain, which the chart does not write yet ' +
    '(Fulcio 1.8.8 refuses to start without it)',
};

const SUBJECT_DOMAIN_TYPES = new Set(['uri', 'username']);

/**
 * What Fulcio 1.8.8 would refuse, or silently ignore, in one issuer: a type the chart cannot write,
 * `subjectDomain` missing for `uri`/`username` (or given for another type), a subject domain outside the
 * issuer's own domain (validateAllowedDomain: the last two labels must match), `ciProvider` without
 * type `ci-provider`. Values of the wrong type are left to the schema.
 */
export function issuerProblems(issuer: IssuerFields): IssuerProblem[] {
  const problems: IssuerProblem[] = [];
  const type = issuer.type ?? DEFAULT_ISSUER_TYPE;
  if (typeof type !== 'string') return problems;
  if (type in UNSUPPORTED_TYPES) problems.push({ field: 'type', message: UNSUPPORTED_TYPES[type], input: type, unsupported: true });
  const domain = issuer.subjectDomain;
  if (SUBJECT_DOMAIN_TYPES.has(type)) {
    if (domain === undefined) {
      problems.push({
        field: 'subjectDomain',
        message: `expected subjectDomain (e.g. "example.com") because type is "${type}": Fulcio 1.8.8 refuses to start without it`,
        input: undefined,
      });
    } else if (typeof domain === 'string' && domainNameProblem(domain) === undefined && typeof issuer.url === 'string') {
      const issuerHost = hostOf(issuer.url);
      if (issuerHost !== undefined && !sameRegisteredDomain(domain, issuerHost)) {
        problems.push({
          field: 'subjectDomain',
          message:
            `expected a domain ending in "${lastTwoLabels(issuerHost)}", the issuer's own: Fulcio 1.8.8 requires the last two labels of ` +
            'subjectDomain and of the issuer host to match (validateAllowedDomain)',
          input: domain,
        });
      }
    }
  } else if (domain !== undefined) {
    problems.push({ field: 'subjectDomain', message: `expected no subjectDomain: only "uri" and "username" issuers use it (this one is "${type}")`, input: domain });
  }
  if (type === 'ci-provider' && issuer.ciProvider === undefined) {
    problems.push({
      field: 'ciProvider',
      message: `expected ciProvider because type is "ci-provider": the key of its templates, "${BUILT_IN_CI_PROVIDER_NAMES.join('", "')}" or one under oidc.ciProviders`,
      input: undefined,
    });
  }
  if (issuer.ciProvider !== undefined && type !== 'ci-provider') {
    problems.push({ field: 'ciProvider', message: `expected no ciProvider: only "ci-provider" issuers use it (this one is "${type}")`, input: issuer.ciProvider });
  }
  return problems;
}

/** Where an issuer is listed: `oidc.issuers` or a tenant, and its index there. */
export interface IssuerListing {
  readonly issuer: IssuerFields;
  /** `["oidc", "issuers", 0]` or `["oidc", "tenants", 1, "issuers", 0]`. */
  readonly path: readonly (string | number)[];
  /** `oidc.issuers` or `tenant <name>`. */
  readonly listedBy: string;
}

/** Every issuer of the `oidc` section, global ones first, then each tenant's, with where it is listed. */
export function issuerListings(oidc: unknown): IssuerListing[] {
  const section = (oidc ?? {}) as { issuers?: unknown; tenants?: unknown };
  const listings: IssuerListing[] = [];
  const add = (issuers: unknown, path: (string | number)[], listedBy: string) => {
    if (!Array.isArray(issuers)) return;
    issuers.forEach((issuer, index) => {
      if (issuer !== null && typeof issuer === 'object') listings.push({ issuer: issuer as IssuerFields, path: [...path, index], listedBy });
    });
  };
  add(section.issuers, ['oidc', 'issuers'], 'oidc.issuers');
  if (Array.isArray(section.tenants)) {
    section.tenants.forEach((tenant: unknown, index) => {
      const { name, issuers } = (tenant ?? {}) as { name?: unknown; issuers?: unknown };
      add(issuers, ['oidc', 'tenants', index, 'issuers'], `tenant ${typeof name === 'string' ? name : index}`);
    });
  }
  return listings;
}

/** An issuer URL listed again with other settings than where it was first listed. */
export interface IssuerConflict {
  readonly url: string;
  readonly first: IssuerListing;
  readonly second: IssuerListing;
}

/**
 * Issuers listed more than once with different settings (type, clientId, subjectDomain, ciProvider,
 * defaults applied). Fulcio has one entry per issuer URL, so the union over tenants needs them equal.
 */
export function issuerConflicts(listings: readonly IssuerListing[]): IssuerConflict[] {
  const first = new Map<string, IssuerListing>();
  const conflicts: IssuerConflict[] = [];
  for (const listing of listings) {
    const url = listing.issuer.url;
    if (typeof url !== 'string') continue;
    const earlier = first.get(url);
    if (!earlier) first.set(url, listing);
    else if (describeIssuer(earlier.issuer) !== describeIssuer(listing.issuer)) conflicts.push({ url, first: earlier, second: listing });
  }
  return conflicts;
}

/** The settings of an issuer besides its URL, defaults applied: `type email, clientId sigstore`. */
export function describeIssuer(issuer: IssuerFields): string {
  const settings: [string, unknown][] = [
    ['type', issuer.type ?? DEFAULT_ISSUER_TYPE],
    ['clientId', issuer.clientId ?? DEFAULT_CLIENT_ID],
    ['subjectDomain', issuer.subjectDomain],
    ['ciProvider', issuer.ciProvider],
  ];
  return settings
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key} ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname || undefined;
  } catch {
    return undefined;
  }
}

/** Fulcio's validateAllowedDomain: equal, or the same last two labels (both at least two labels long). */
function sameRegisteredDomain(subjectHost: string, issuerHost: string): boolean {
  if (subjectHost === issuerHost) return true;
  const subject = subjectHost.split('.');
  const issuer = issuerHost.split('.');
  if (subject.length < 2 || issuer.length < 2) return false;
  return subject[subject.length - 1] === issuer[issuer.length - 1] && subject[subject.length - 2] === issuer[issuer.length - 2];
}

function lastTwoLabels(host: string): string {
  return host.split('.').slice(-2).join('.');
}

/** One problem of the oidc section as a whole, with its path from the top of the file. */
export interface OidcSectionProblem {
  readonly path: (string | number)[];
  readonly message: string;
  readonly input: unknown;
}

/**
 * What needs the whole `oidc` section: every `ciProvider` of an issuer or meta-issuer names a
 * built-in or a declared provider (Fulcio 1.8.8 would fail each certificate request of that issuer
 * with "metadata not found for ci provider"), a declared provider does not shadow a built-in, and
 * each meta-issuer URL is listed once. Reads the raw section defensively.
 */
export function oidcSectionProblems(oidc: unknown): OidcSectionProblem[] {
  const section = (oidc ?? {}) as { ciProviders?: unknown; metaIssuers?: unknown };
  const declared = section.ciProviders !== null && typeof section.ciProviders === 'object' ? Object.keys(section.ciProviders) : [];
  const problems: OidcSectionProblem[] = [];
  for (const key of declared) {
    if ((BUILT_IN_CI_PROVIDER_NAMES as readonly string[]).includes(key)) {
      problems.push({ path: ['oidc', 'ciProviders', key], message: `expected another name: "${key}" is a built-in provider; to change it, declare a new key with template: ${key}`, input: key });
    }
  }
  const known = new Set<string>([...BUILT_IN_CI_PROVIDER_NAMES, ...declared]);
  const metaIssuers = Array.isArray(section.metaIssuers) ? (section.metaIssuers as IssuerFields[]) : [];
  const listings: { issuer: IssuerFields; path: (string | number)[] }[] = [
    ...issuerListings(oidc).map((listing) => ({ issuer: listing.issuer, path: [...listing.path] })),
    ...metaIssuers.map((issuer, index) => ({ issuer, path: ['oidc', 'metaIssuers', index] })),
  ];
  for (const { issuer, path } of listings) {
    if (issuer === null || typeof issuer !== 'object') continue;
    if (typeof issuer.ciProvider === 'string' && !known.has(issuer.ciProvider)) {
      problems.push({
        path: [...path, 'ciProvider'],
        message: `expected a CI provider that exists: "${[...known].join('", "')}" (declare others under oidc.ciProviders)`,
        input: issuer.ciProvider,
      });
    }
  }
  metaIssuers.forEach((issuer, index) => {
    if (issuer === null || typeof issuer !== 'object') return;
    const type = issuer.type ?? DEFAULT_ISSUER_TYPE;
    if (type === 'ci-provider' && issuer.ciProvider === undefined) {
      problems.push({ path: ['oidc', 'metaIssuers', index, 'ciProvider'], message: 'expected ciProvider because type is "ci-provider"', input: undefined });
    }
    if (issuer.ciProvider !== undefined && type !== 'ci-provider') {
      problems.push({ path: ['oidc', 'metaIssuers', index, 'ciProvider'], message: `expected no ciProvider: only "ci-provider" issuers use it (this one is "${String(type)}")`, input: issuer.ciProvider });
    }
    const first = metaIssuers.findIndex((other) => other !== null && typeof other === 'object' && other.url === issuer.url);
    if (first !== index) {
      problems.push({ path: ['oidc', 'metaIssuers', index, 'url'], message: `expected each meta-issuer URL once (already listed as ${formatFieldPath(['oidc', 'metaIssuers', first])})`, input: issuer.url });
    }
  });
  return problems;
}
