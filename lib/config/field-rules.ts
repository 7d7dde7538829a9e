/*
 * Rules for configuration values that end up in a Kubernetes manifest, a certificate, a signed
 * document (trusted_root.json, the signing config, TUF metadata) or a command line. Each rule returns
 * what is wrong, as a sentence starting with "expected", or undefined when the value is fine. The
 * configuration schema reports it with the field path when the environment file is read; the
 * constructs report it with their construct path when they are used directly. One rule, two callers.
 *
 * Every rule bounds the length first, so no value costs more than a few microseconds to check.
 */

/** A rule on one string value. */
export type FieldRule = (value: string) => string | undefined;

/** Replicas of every component: the configuration's and the constructs' range. */
export const REPLICAS_RANGE = { min: 1, max: 20 } as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A host name: labels of letters, digits and "-" (case-insensitive), none longer than 63. */
const HOST_NAME = /^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$/;
const IPV4_ADDRESS = /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/;
/** Looks like an IPv4 address (four dot-separated numbers), valid or not. */
const DOTTED_NUMBERS = /^[0-9]+(\.[0-9]+){3}$/;

/** True for a DNS-1123 label: what Kubernetes accepts as a namespace, Service or Secret name here. */
export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && DNS_LABEL.test(value);
}

/** A Kubernetes namespace (a DNS-1123 label). */
export const namespaceProblem: FieldRule = (value) =>
  isDnsLabel(value) ? undefined : 'expected a Kubernetes namespace name: lowercase letters, digits and "-", at most 63 characters';

/** The name of an existing Secret (the chart refers to it by a DNS-1123 label). */
export const secretNameProblem: FieldRule = (value) =>
  isDnsLabel(value) ? undefined : 'expected a Secret name: lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters';

/**
 * A DNS-1123 subdomain name, as Kubernetes requires of IngressClass and StorageClass names
 * (apimachinery IsDNS1123Subdomain: at most 253 characters).
 */
export const dnsSubdomainProblem: FieldRule = (value) =>
  value.length <= 253 && DNS_SUBDOMAIN.test(value)
    ? undefined
    : 'expected a DNS-1123 subdomain name, as Kubernetes requires: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit, at most 253 characters';

/**
 * A public hostname: a lowercase DNS name of at least two labels, at most 253 characters, and not an
 * IP address. It becomes an Ingress host (the apiserver refuses an IP there) and `https://<hostname>`
 * in the signed trust root, whose clients check the server certificate against that name.
 */
export const publicHostnameProblem: FieldRule = (value) => {
  if (value.length <= 253 && DOTTED_NUMBERS.test(value)) {
    return 'expected a DNS hostname, not an IP address: it becomes an Ingress host, which Kubernetes requires to be a name, and https://<hostname> in the trust root';
  }
  return domainNameProblem(value) === undefined
    ? undefined
    : 'expected a lowercase DNS hostname without scheme, port or path, e.g. "fulcio.example.com" (at most 253 characters)';
};

/**
 * A domain name: lowercase, at least two labels, at most 253 characters, and a top-level label that
 * is not all digits (RFC 3696 §2), so never an IP address.
 */
export const domainNameProblem: FieldRule = (value) => {
  const labels = value.split('.');
  const ok =
    value.length <= 253 && DNS_SUBDOMAIN.test(value) && labels.length >= 2 && labels.every((label) => label.length <= 63) && !/^[0-9]+$/.test(labels[labels.length - 1]);
  if (ok) return undefined;
  return DOTTED_NUMBERS.test(value)
    ? 'expected a domain name, not an IP address, e.g. "example.com"'
    : 'expected a lowercase domain name such as "example.com": letters, digits, "-" and ".", at most 253 characters';
};

/**
 * A host Trillian's pods connect to (`--mysql_uri=…@tcp(<host>:<port>)/…`, `--mysql_server_name`): a
 * host name (one label or more) or an IPv4 address, nothing a DSN or a shell would split on.
 */
export const databaseHostProblem: FieldRule = (value) =>
  value.length <= 253 && (HOST_NAME.test(value) || IPV4_ADDRESS.test(value)) && !(DOTTED_NUMBERS.test(value) && !IPV4_ADDRESS.test(value))
    ? undefined
    : 'expected a host name (letters, digits, "-" and ".", e.g. "trillian-db.example.internal") or an IPv4 address, without port, at most 253 characters';

/** An NTP server the TSA asks: a host name or an IPv4 address. */
export const ntpServerProblem: FieldRule = (value) =>
  value.length <= 253 && ((HOST_NAME.test(value) && !DOTTED_NUMBERS.test(value)) || IPV4_ADDRESS.test(value))
    ? undefined
    : 'expected a host name (letters, digits, "-" and ".") or an IPv4 address, at most 253 characters';

/** Characters RFC 3986 allows in a URI, except "%" (checked on its own). */
const URI_CHARACTERS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;

/** Longest issuer URL accepted; real ones are under 100 characters. */
export const ISSUER_URL_MAX_LENGTH = 512;

/**
 * An OIDC issuer URL. It goes, unchanged, into Fulcio's config, where it must equal the tokens' `iss`
 * claim byte for byte, and into the signed signing config, where clients read it.
 *
 * Fulcio 1.8.8 (sigstore/fulcio pkg/config/config.go) keys `OIDCIssuers` by this string and looks the
 * token's `iss` up in that map as is (pkg/identity/issuerpool.go), then discovers the provider with
 * go-oidc `oidc.NewProvider(ctx, IssuerURL)`, which requires the discovery document's `issuer` to be
 * the same string; `validateConfig` parses it with Go's net/url. OpenID Connect Core 1.0 §2 defines
 * `iss` as "a case sensitive URL using the https scheme that contains scheme, host, and optionally,
 * port number and path components and no query or fragment components". So: https, no userinfo
 * (it would publish a credential in the signing config), no query or fragment, and no character that
 * the WHATWG URL parser of the clients and Go's net/url read differently (whitespace and control
 * characters are silently dropped by one and not the other; "\" is "/" to one of them).
 */
export const issuerUrlProblem: FieldRule = (value) => {
  if (value.length > ISSUER_URL_MAX_LENGTH) return `expected an issuer URL of at most ${ISSUER_URL_MAX_LENGTH} characters`;
  const invalid = urlTextProblem(value);
  if (invalid) return invalid;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'expected an https URL without query or fragment, e.g. "https://token.actions.githubusercontent.com"';
  }
  if (url.protocol !== 'https:' || url.hostname === '' || !value.startsWith('https://')) {
    return 'expected an https URL without query or fragment, e.g. "https://token.actions.githubusercontent.com"';
  }
  if (value.includes('?') || value.includes('#')) {
    return 'expected an issuer URL without query or fragment: OpenID Connect issuer URLs have none, and Fulcio matches the token\'s "iss" exactly';
  }
  const authority = value.slice('https://'.length).split('/')[0];
  if (authority.includes('@') || url.username || url.password) {
    return 'expected an issuer URL without user:pass@: it would publish a credential in the signed signing config, and an issuer URL has none';
  }
  const host = authority.replace(/:[0-9]{1,5}$/, '');
  if (!(HOST_NAME.test(host) || IPV4_ADDRESS.test(host)) || host !== url.hostname || (url.port !== '' && !authority.endsWith(`:${url.port}`))) {
    return 'expected an https URL whose host is a lowercase host name or an IPv4 address, optionally with a port, e.g. "https://keycloak.example.com:8443/realms/forge"';
  }
  const path = value.slice('https://'.length + authority.length);
  if (path.split('/').some((segment) => segment === '.' || segment === '..')) {
    return 'expected an issuer URL without "." or ".." segments: clients would resolve them, Fulcio would not';
  }
  return undefined;
};

/**
 * A Fulcio meta-issuer URL (sigstore/fulcio v1.8.8 pkg/config/config.go MetaRegex: every `*` becomes
 * `[-_a-zA-Z0-9]+`, anchored at both ends, so a `*` never spans a "." or "/"). With each `*` read as
 * one such part the URL must be an issuer URL (issuerUrlProblem); it must have a `*`, none in the
 * port, and the host's last two labels must be literal: a wildcard there would trust issuers in
 * domains nobody here controls.
 */
export const metaIssuerUrlProblem: FieldRule = (value) => {
  if (!value.includes('*')) return 'expected a URL with at least one "*" (a URL without one is an exact issuer: list it under issuers)';
  const concrete = value.replace(/\*/g, 'x');
  const problem = issuerUrlProblem(concrete);
  if (problem) return `${problem} (reading each "*" as one host label or path part)`;
  const authority = value.slice('https://'.length).split('/')[0];
  const [host, port] = authority.split(':');
  if (port !== undefined && port.includes('*')) return 'expected no "*" in the port';
  const labels = host.split('.');
  if (labels.length < 2 || labels.slice(-2).some((label) => label.includes('*'))) {
    return 'expected the last two labels of the host to be literal (e.g. "https://*.oic.example.com/*"): a wildcard there would trust issuers in any domain';
  }
  return undefined;
};

/** Characters a URL in the configuration must not have, in the order an operator would fix them. */
function urlTextProblem(value: string): string | undefined {
  if (/[\s\u0085\u00a0\u2028\u2029]/u.test(value)) {
    return 'expected a URL without spaces, tabs, line breaks or other whitespace: URL parsers drop or encode them differently, so the URL Fulcio compares and the one clients use would differ';
  }
  if (/[\p{Cc}\p{Cf}]/u.test(value)) return 'expected a URL without control characters';
  if (value.includes('\\')) return 'expected a URL without a backslash: browsers and Node read "\\" as "/", Go does not';
  if (/[^\x21-\x7e]/.test(value)) return 'expected a URL of ASCII characters only (write an internationalized host name in its "xn--" form)';
  if (!URI_CHARACTERS.test(value) || /%(?![0-9A-Fa-f]{2})/.test(value)) {
    return 'expected a URL of the characters RFC 3986 allows (letters, digits and -._~:/?#[]@!$&\'()*+,;=, "%" only before two hex digits)';
  }
  return undefined;
}

/**
 * An API endpoint of the tool's own HTTP clients: a URL without whitespace, control characters,
 * backslashes or userinfo (the scheme and path rules are the caller's). Undefined when fine.
 */
export function endpointTextProblem(value: string): string | undefined {
  if (value.length > 2048) return 'expected a URL of at most 2048 characters';
  if (urlTextProblem(value)) return urlTextProblem(value);
  const authority = value.replace(/^[a-z]+:\/\//, '').split('/')[0];
  return authority.includes('@') ? 'expected a URL without user:pass@ (credentials come from the environment, never from this file)' : undefined;
}

/**
 * The audience Fulcio expects in a token (its `ClientID`): written into Fulcio's JSON config. Real
 * client ids are names, UUIDs, `<id>.apps.googleusercontent.com` or URLs; none has whitespace or quotes.
 */
export const oidcClientIdProblem: FieldRule = (value) =>
  value.length >= 1 && value.length <= 255 && /^[A-Za-z0-9._~:/@+=-]+$/.test(value)
    ? undefined
    : 'expected a client id of 1-255 letters, digits and ".", "_", "~", ":", "/", "@", "+", "=" or "-" (no spaces, quotes or line breaks)';

/** The metadata key of a `ci-provider` issuer (e.g. `github-workflow`): a DNS-1123 label. */
export const ciProviderProblem: FieldRule = (value) =>
  isDnsLabel(value) ? undefined : 'expected a CI provider key such as "github-workflow": lowercase letters, digits and "-", at most 63 characters';

const UNICODE_ORGANIZATION = /^[\p{L}\p{N}][\p{L}\p{M}\p{N}.,&'()/+:@_-]*( [\p{L}\p{M}\p{N}.,&'()/+:@_-]+)*$/u;
const ASCII_ORGANIZATION = /^[A-Za-z0-9][A-Za-z0-9.,&'()/+:@_-]*( [A-Za-z0-9.,&'()/+:@_-]+)*$/;

/** Upper bound of the organization name: RFC 5280 ub-organization-name. */
export const ORGANIZATION_MAX_LENGTH = 64;

/**
 * The organization: O= in every certificate subject (roots valid for 10 years), `operator` in the
 * signing config, the organization in trusted_root.json. Letters and digits of any script, single
 * spaces and a few punctuation marks; no control or format characters (NUL, line breaks, bidi
 * overrides), no quotes. At most 64 characters (RFC 5280 ub-organization-name), counted as characters.
 */
export const organizationProblem: FieldRule = (value) => {
  const length = [...value].length;
  if (length === 0) return 'expected a non-empty organization name';
  if (length > ORGANIZATION_MAX_LENGTH) {
    return `expected at most ${ORGANIZATION_MAX_LENGTH} characters (RFC 5280 ub-organization-name; it has ${length})`;
  }
  // An ASCII name takes the rule's ASCII form (the same rule: no ASCII character is a mark, and the
  // ASCII letters and digits are A-Z, a-z, 0-9); only another name compiles the Unicode one (~2 ms).
  const ok = ASCII_ORGANIZATION.test(value) || (/[^\x00-\x7f]/.test(value) && UNICODE_ORGANIZATION.test(value));
  return ok
    ? undefined
    : `expected 1-${ORGANIZATION_MAX_LENGTH} letters, digits, single spaces and . , & ' ( ) / + : @ _ -, starting with a letter or digit: ` +
        'it is the O= of root certificates valid for years, so no control characters, line breaks, quotes or leading, trailing or double spaces';
};

/** A storage size of a PersistentVolumeClaim: at most six digits and Mi, Gi or Ti. */
export const storageQuantityProblem: FieldRule = (value) =>
  /^[1-9][0-9]{0,5}(Mi|Gi|Ti)$/.test(value) ? undefined : 'expected a storage size such as "512Mi", "5Gi" or "1Ti" (at most six digits)';

/** The CT log's URL path prefix (`/<prefix>/ct/v1/...`): lowercase letters, digits and "-". */
export const ctlogPrefixProblem: FieldRule = (value) =>
  /^[a-z0-9][a-z0-9-]{0,62}$/.test(value) ? undefined : 'expected a path prefix of lowercase letters, digits and "-", at most 63 characters';

/** A MySQL database name (unquoted identifier). */
export const mysqlDatabaseNameProblem: FieldRule = (value) =>
  /^[A-Za-z0-9_]{1,64}$/.test(value) ? undefined : 'expected a MySQL database name of 1-64 letters, digits and "_"';

/**
 * The organization (namespace) of an image mirror: one path component of an image reference
 * (distribution/reference: lowercase letters and digits, separated by ".", "_", "__" or "-"s).
 */
export const registryOrganizationProblem: FieldRule = (value) =>
  value.length <= 128 && /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$/.test(value)
    ? undefined
    : 'expected a registry organization name: lowercase letters and digits separated by ".", "_" or "-", at most 128 characters';

/** The indexes of values seen earlier in the list, with the index of their first occurrence. */
export function duplicateIndexes(values: readonly unknown[]): { index: number; first: number }[] {
  const firstIndex = new Map<unknown, number>();
  const duplicates: { index: number; first: number }[] = [];
  values.forEach((value, index) => {
    const first = firstIndex.get(value);
    if (first === undefined) firstIndex.set(value, index);
    else duplicates.push({ index, first });
  });
  return duplicates;
}

/** Dotted form of a path: `oidc.tenants[0].issuers[1]`. */
export function formatFieldPath(path: readonly (string | number)[]): string {
  return path.map((part) => (typeof part === 'number' ? `[${part}]` : part)).join('.').replace(/\.\[/g, '[');
}

/**
 * A Kubernetes annotation: the key a qualified name with an optional DNS-subdomain prefix
 * (`cert-manager.io/cluster-issuer`), the name part at most 63 characters of [A-Za-z0-9-_.]
 * starting and ending alphanumeric (k8s.io/apimachinery validation.IsQualifiedName); the value at
 * most 4096 characters here (the API limits all annotations together to 256 KiB).
 */
export function annotationProblem(key: string, value: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(prefix))) {
    return `expected an annotation key whose prefix is a DNS subdomain (e.g. "cert-manager.io/cluster-issuer"), not ${JSON.stringify(key)}`;
  }
  if (name.length === 0 || name.length > 63 || !/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name)) {
    return `expected an annotation key whose name is 1-63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit, not ${JSON.stringify(key)}`;
  }
  if (value.length > 4096) return 'expected an annotation value of at most 4096 characters';
  if (/[\p{Cc}]/u.test(value.replace(/\n/g, ''))) return 'expected an annotation value without control characters';
  return undefined;
}
