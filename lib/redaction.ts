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
 * CLI writes, however many secrets the process learned (every AK/SK request signature is one): a
 * form of 12 characters or more is looked up by its first 12 characters at each position of the text
 * (one map lookup per character), a shorter one by `indexOf`; nothing is rebuilt when a secret is
 * added. (One alternation of every form, rebuilt after each registration, cost a process that
 * signed a thousand requests half a minute.)
 */
export class SecretRegistry {
  /** Registered values, and the forms they take in JSON and in URLs. */
  readonly #forms = new Set<string>();
  /** Forms of at least PREFIX_CHARACTERS characters, by their first PREFIX_CHARACTERS characters. */
  readonly #long = new Map<string, string[]>();
  /** Forms shorter than PREFIX_CHARACTERS. */
  readonly #short: string[] = [];
  /** Raw values longer than PREFIX_CHARACTERS (recognized by a prefix too), by their first PREFIX_CHARACTERS characters. */
  readonly #prefixed = new Map<string, string[]>();

  /** Registers a secret. Empty values are ignored; registering a value twice is harmless. */
  register(value: string | undefined): void {
    if (!value) return;
    for (const form of [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]) {
      if (this.#forms.has(form)) continue;
      this.#forms.add(form);
      if (form.length >= PREFIX_CHARACTERS) addByHead(this.#long, form);
      else this.#short.push(form);
    }
    if (value.length > PREFIX_CHARACTERS && !this.#prefixed.get(value.slice(0, PREFIX_CHARACTERS))?.includes(value)) addByHead(this.#prefixed, value);
  }

  /** How many distinct forms are registered (for tests). */
  get size(): number {
    return this.#forms.size;
  }

  /**
   * `text` with every registered secret replaced by `[redacted]`: the value, its JSON-escaped and
   * URL-encoded forms, and any piece of a long value that starts like it and runs for at least 12
   * characters (a truncated echo). Where occurrences of secrets overlap, their union is one
   * `[redacted]`, so no part of any of them is left.
   */
  redact(text: string): string {
    if (this.#forms.size === 0 || text === '') return text;
    const found: [start: number, end: number][] = [];
    for (const form of this.#short) {
      for (let index = text.indexOf(form); index >= 0; index = text.indexOf(form, index + 1)) found.push([index, index + form.length]);
    }
    if (this.#long.size > 0) {
      for (let index = 0; index + PREFIX_CHARACTERS <= text.length; index++) {
        const head = text.slice(index, index + PREFIX_CHARACTERS);
        let length = 0;
        for (const form of this.#long.get(head) ?? []) if (form.length > length && text.startsWith(form, index)) length = form.length;
        for (const secret of this.#prefixed.get(head) ?? []) length = Math.max(length, matchingLength(text, index, secret));
        if (length > 0) found.push([index, index + length]);
      }
    }
    if (found.length === 0) return text;
    found.sort(([a], [b]) => a - b);
    let result = '';
    let done = 0;
    let [from, to] = found[0];
    for (const [start, end] of found.slice(1)) {
      if (start < to) {
        to = Math.max(to, end); // overlaps the occurrence before: one [redacted] for both
        continue;
      }
      result += text.slice(done, from) + REDACTED;
      done = to;
      [from, to] = [start, end];
    }
    return result + text.slice(done, from) + REDACTED + text.slice(to);
  }
}

/** Adds `form` to the list of its first PREFIX_CHARACTERS characters. */
function addByHead(byHead: Map<string, string[]>, form: string): void {
  const head = form.slice(0, PREFIX_CHARACTERS);
  const forms = byHead.get(head);
  if (forms) forms.push(form);
  else byHead.set(head, [form]);
}

/** How many characters of `text` from `index` are the start of `secret` (the caller checked the first PREFIX_CHARACTERS). */
function matchingLength(text: string, index: number, secret: string): number {
  let length = PREFIX_CHARACTERS;
  while (length < secret.length && index + length < text.length && text[index + length] === secret[length]) length++;
  return length;
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
