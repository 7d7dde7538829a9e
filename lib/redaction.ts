/**
 * One registry of the secrets this process holds (OTC AK/SK, password, security token, every IAM
 * token it was issued, every AK/SK request signature it made), and the redaction every printed
 * message goes through. Credential code registers a value as soon as it learns it
 * (`SecretValue`'s constructor, the IAM token authorizer, the AK/SK signer); the CLI redacts all it
 * writes to stdout and stderr; the HTTP client redacts all text it takes from a response before it
 * builds an error from it.
 */

/** What a secret is replaced with. */
export const REDACTED = '[redacted]';

/** A secret cut short after this many characters is still recognized (a server that truncates what it echoes). */
const PREFIX_CHARACTERS = 12;

/**
 * The secrets to keep out of every message. Values are only added (a process never "un-learns" a
 * secret: an expired token is still a secret in a log). `redact` is cheap enough for every line the
 * CLI writes: one precompiled alternation, plus a prefix scan per long secret.
 */
export class SecretRegistry {
  /** Registered values, and the forms they take in JSON and in URLs. */
  readonly #forms = new Set<string>();
  /** Raw values long enough to be recognized by a prefix. */
  readonly #prefixed = new Set<string>();
  #pattern?: RegExp;

  /** Registers a secret. Empty values are ignored; registering a value twice is harmless. */
  register(value: string | undefined): void {
    if (!value) return;
    const before = this.#forms.size;
    for (const form of [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]) this.#forms.add(form);
    if (value.length > PREFIX_CHARACTERS) this.#prefixed.add(value);
    if (this.#forms.size !== before) this.#pattern = undefined;
  }

  /** How many distinct forms are registered (for tests). */
  get size(): number {
    return this.#forms.size;
  }

  /**
   * `text` with every registered secret replaced by `[redacted]`: the value, its JSON-escaped and
   * URL-encoded forms, and any piece of a long value that starts like it and runs for at least 12
   * characters (a truncated echo).
   */
  redact(text: string): string {
    if (this.#forms.size === 0 || text === '') return text;
    this.#pattern ??= new RegExp(
      [...this.#forms]
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join('|'),
      'g',
    );
    let result = text.replace(this.#pattern, REDACTED);
    for (const secret of this.#prefixed) result = redactPrefixes(result, secret);
    return result;
  }
}

/** The registry of this process. */
export const secretRegistry = new SecretRegistry();

/** Registers a secret with the process's registry. */
export function registerSecret(value: string | undefined): void {
  secretRegistry.register(value);
}

/** `text` without any secret the process registered. */
export function redactSecrets(text: string): string {
  return secretRegistry.redact(text);
}

/*
 * Credentials the process did not register but that are recognizable by where they stand: the value
 * of a credential header written out (X-Auth-Token, X-Subject-Token, X-Security-Token), and the
 * access key and signature of an SDK-HMAC-SHA256 Authorization header. Applied to text from a server.
 */
const CREDENTIAL_PATTERNS: readonly [RegExp, string][] = [
  [/(X-(?:Auth|Subject|Security)-Token["']?\s*[:=]\s*["']?)(?!\[redacted\])[^\s"',;)}\]]+/gi, `$1${REDACTED}`],
  [/(\bAccess=)(?!\[redacted\])[^\s,;"')}\]]+/g, `$1${REDACTED}`],
  [/(\bSignature=)[0-9a-fA-F]{16,}/g, `$1${REDACTED}`],
];

/** `text` without credential header values and AK/SK signature parts, registered or not. */
export function redactCredentialPatterns(text: string): string {
  return CREDENTIAL_PATTERNS.reduce((result, [pattern, replacement]) => result.replace(pattern, replacement), text);
}

/** What the HTTP client does with any text from a response: registered secrets and credential patterns removed. */
export function redactServerText(text: string): string {
  return redactCredentialPatterns(redactSecrets(text));
}

/** Query parameter names whose values are credentials, or may be. */
const CREDENTIAL_PARAMETER = /token|secret|passw|pwd|key|sig|auth|credential|session|ticket|code/i;

/**
 * A URL fit to print: user info (`user:password@`) and the values of credential-like query
 * parameters (token, key, signature, session, …) replaced by `[redacted]`; relative URLs resolved
 * against `base`. Text that is not a URL comes back as it was (still to be redacted by the caller).
 */
export function redactUrl(url: string, base?: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url, base);
  } catch {
    return url;
  }
  const userInfo = parsed.username || parsed.password ? `${REDACTED}@` : '';
  const query = parsed.search
    .slice(1)
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const [name, ...value] = pair.split('=');
      return value.length > 0 && CREDENTIAL_PARAMETER.test(safeDecode(name)) ? `${name}=${REDACTED}` : pair;
    })
    .join('&');
  return `${parsed.protocol}//${userInfo}${parsed.host}${parsed.pathname}${query ? `?${query}` : ''}${parsed.hash ? `#${REDACTED}` : ''}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Replaces each run of `text` that matches `secret` from its start for at least PREFIX_CHARACTERS characters. */
function redactPrefixes(text: string, secret: string): string {
  const head = secret.slice(0, PREFIX_CHARACTERS);
  let index = text.indexOf(head);
  if (index < 0) return text;
  let result = '';
  let done = 0;
  while (index >= 0) {
    let length = PREFIX_CHARACTERS;
    while (length < secret.length && index + length < text.length && text[index + length] === secret[length]) length++;
    result += text.slice(done, index) + REDACTED;
    done = index + length;
    index = text.indexOf(head, done);
  }
  return result + text.slice(done);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
