import { closeSync, constants, existsSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LineCounter, isAlias, isNode, isPair, isScalar, isSeq, parseDocument, visit, type Document } from 'yaml';
import * as z from 'zod';
import { ConfigError, type ConfigProblem } from '../errors';
import { EMBEDDED_DEFAULT_ENV, EMBEDDED_DEFAULT_SOURCE, EMBEDDED_DEFAULT_YAML } from './embedded-default';
import { formatFieldPath } from './field-rules';
import { configSchema, crossFieldProblems, type SigstoreConfig } from './schema';
import { PARSED_ONCE } from './parse-once';

/** Configuration objects that passed validation, with their content (as JSON) at that time. */
const validated = new WeakMap<SigstoreConfig, string>();

/** Records that `config` passed validation as it is now; returns it. */
export function markValidated(config: SigstoreConfig): SigstoreConfig {
  validated.set(config, JSON.stringify(config));
  return config;
}

/** Whether `config` passed validation and is unchanged since (compared as JSON: a change made in place counts). */
export function passedValidation(config: SigstoreConfig): boolean {
  return validated.get(config) === JSON.stringify(config);
}

/** Environment names: they become file and state directory names. */
export const ENV_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;

/**
 * Largest environment file accepted: 1 MiB, a thousand times the documented example. Checked from
 * the file's size before it is read, and again on the bytes read.
 */
export const CONFIG_FILE_MAX_BYTES = 1024 * 1024;

/**
 * How far YAML aliases may expand (the `yaml` package's maxAliasCount: the number of alias nodes an
 * anchor may be expanded into, times its use). A few shared issuers fit; a "billion laughs" does not.
 */
const MAX_ALIAS_COUNT = 100;

export interface LoadConfigOptions {
  /** Environment name: reads `<envsDir>/<env>.yaml`. */
  readonly env: string;
  /** Directory of environment files. @default envs */
  readonly envsDir?: string;
}

/** Reads, parses and validates `envs/<env>.yaml`. Throws a ConfigError naming every bad field. */
export function loadConfig(options: LoadConfigOptions): SigstoreConfig {
  const envsDir = options.envsDir ?? 'envs';
  requireEnvName(options.env);
  const file = join(envsDir, `${options.env}.yaml`);
  let text: string;
  try {
    text = readBoundedText(file);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      // The embedded default needs no file: envs/dev.yaml only documents it.
      if (options.env === EMBEDDED_DEFAULT_ENV) return markValidated({ ...parseConfigText(EMBEDDED_DEFAULT_YAML, EMBEDDED_DEFAULT_SOURCE), env: options.env });
      const available = listEnvironments(envsDir);
      const example = join(envsDir, `${options.env}.example.yaml`);
      throw new ConfigError(
        'CONFIG_NOT_FOUND',
        `environment "${options.env}" has no file ${displayPath(file)}; ` +
          (available.length ? `available: ${available.join(', ')}` : `no environment files in ${displayPath(envsDir)}`) +
          (existsSync(example) ? `; to start one, copy the documented example: cp ${displayPath(example)} ${displayPath(file)}, then edit it` : ''),
      );
    }
    throw new ConfigError('CONFIG_UNREADABLE', `cannot read ${displayPath(file)}: ${(error as Error).message}`, [], { cause: error });
  }
  return markValidated({ ...parseConfigText(text, displayPath(file)), env: options.env });
}

/** Throws ENV_NAME_INVALID unless `env` is a plain environment name. */
export function requireEnvName(env: string): void {
  if (typeof env !== 'string' || !ENV_NAME.test(env)) {
    throw new ConfigError(
      'ENV_NAME_INVALID',
      `--env ${JSON.stringify(env)} is not an environment name: expected lowercase letters, digits and "-" (at most 40), e.g. "dev" or "prd"`,
    );
  }
}

/**
 * The file's text: a regular file of at most CONFIG_FILE_MAX_BYTES (its size is checked before a byte
 * is read, and no more than the limit is ever read), in UTF-8.
 */
function readBoundedText(file: string): string {
  // O_NONBLOCK: a FIFO in place of the file is refused below instead of blocking the open.
  const descriptor = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = fstatSync(descriptor);
    if (!stats.isFile()) {
      throw new ConfigError('CONFIG_UNREADABLE', `${displayPath(file)} is not a regular file; an environment file is a YAML file of at most ${CONFIG_FILE_MAX_BYTES} bytes`);
    }
    if (stats.size > CONFIG_FILE_MAX_BYTES) throw tooLarge(displayPath(file), stats.size);
    // One byte more than the limit tells a file that grew since fstat from one that did not.
    const buffer = Buffer.alloc(CONFIG_FILE_MAX_BYTES + 1);
    let length = 0;
    for (let read = -1; read !== 0 && length < buffer.length; length += read) read = readSync(descriptor, buffer, length, buffer.length - length, null);
    if (length > CONFIG_FILE_MAX_BYTES) throw tooLarge(displayPath(file), length);
    return decodeUtf8(buffer.subarray(0, length), displayPath(file));
  } finally {
    closeSync(descriptor);
  }
}

function tooLarge(source: string, bytes: number): ConfigError {
  return new ConfigError(
    'CONFIG_TOO_LARGE',
    `${source} has ${bytes}${bytes > CONFIG_FILE_MAX_BYTES ? '' : ' or more'} bytes; expected at most ${CONFIG_FILE_MAX_BYTES} bytes (1 MiB): an environment file holds settings, not data`,
  );
}

/** The text of UTF-8 bytes; a ConfigError naming the first line that is not UTF-8 (never a silent U+FFFD). */
function decodeUtf8(bytes: Buffer, source: string): string {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    return decoder.decode(bytes);
  } catch {
    // A newline byte is never part of a multi-byte sequence: decode line by line to find the bad one.
    let start = 0;
    for (let line = 1; ; line++) {
      const end = bytes.indexOf(0x0a, start);
      try {
        decoder.decode(bytes.subarray(start, end === -1 ? bytes.length : end));
      } catch {
        throw new ConfigError('CONFIG_UNREADABLE', `${source} is not UTF-8 text: line ${line} has bytes that are not UTF-8; save the file as UTF-8`);
      }
      if (end === -1) throw new ConfigError('CONFIG_UNREADABLE', `${source} is not UTF-8 text; save the file as UTF-8`);
      start = end + 1;
    }
  }
}

/**
 * Validates YAML text (already read from `source`) against the schema. The text is bounded like a
 * file (CONFIG_FILE_MAX_BYTES); YAML tags are never expanded (an unknown tag is an error, not a
 * string), and aliases may expand only so far (MAX_ALIAS_COUNT).
 */
export function parseConfigText(text: string, source: string): z.output<typeof configSchema> {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > CONFIG_FILE_MAX_BYTES) throw tooLarge(source, bytes);
  const lineCounter = new LineCounter();
  // resolveKnownTags: false: YAML 1.1 tags such as !!binary or !!timestamp are refused like any other.
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, resolveKnownTags: false });
  const lineOf = (offset: number) => lineCounter.linePos(offset).line;
  if (document.errors.length > 0) {
    const problems = document.errors.map((error): ConfigProblem => {
      const line = error.linePos?.[0]?.line ?? lineOf(error.pos[0]);
      return { path: `line ${line}`, message: error.message.split('\n')[0] };
    });
    throw new ConfigError('CONFIG_UNREADABLE', formatProblems(source, 'is not valid YAML', problems), problems);
  }
  if (document.warnings.length > 0) {
    const problems = document.warnings.map((warning) => warningProblem(warning, text, document, lineOf));
    throw new ConfigError('CONFIG_UNREADABLE', formatProblems(source, 'uses YAML that environment files do not allow', problems), problems);
  }
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (error) {
    const firstAlias = findNode(document, (node) => isAlias(node));
    const line = firstAlias?.node.range ? lineOf(firstAlias.node.range[0]) : 1;
    const excessive = /excessive alias/i.test((error as Error).message);
    const problems: ConfigProblem[] = [
      {
        path: `line ${line}`,
        message: excessive
          ? `aliases expand to more than ${MAX_ALIAS_COUNT} copies (a "billion laughs"); write the values out instead of repeating *${(firstAlias?.node as { source?: string })?.source ?? ''}`
          : `the aliases cannot be resolved: ${(error as Error).message.split('\n')[0]}`,
      },
    ];
    throw new ConfigError('CONFIG_UNREADABLE', formatProblems(source, 'uses YAML that environment files do not allow', problems), problems, { cause: error });
  }
  const { config, issues } = checkConfig(data);
  if (config) return config;
  const problems = issues.flatMap((issue) => toProblems(issue, { document, lineCounter }, data));
  throw new ConfigError('CONFIG_INVALID', formatProblems(source, `has ${problems.length} invalid field${problems.length === 1 ? '' : 's'}`, problems), problems);
}

/**
 * Checks `data` against the schema: the configuration when valid, else every issue, with the
 * cross-field rules' even where zod skipped them.
 */
export function checkConfig(data: unknown): { config?: z.output<typeof configSchema>; issues: z.core.$ZodIssue[] } {
  const result = configSchema.safeParse(data, { ...PARSED_ONCE, reportInput: true });
  if (result.success) return { config: result.data, issues: [] };
  const issues: z.core.$ZodIssue[] = [...result.error.issues];
  // zod skips refinements of an object with invalid fields: report the cross-field rules anyway.
  const reported = new Set(issues.map((issue) => issue.path.join('.')));
  for (const problem of crossFieldProblems(data)) {
    if (!reported.has(problem.path.join('.'))) issues.push({ code: 'custom', ...problem } as z.core.$ZodIssue);
  }
  return { issues };
}

/** A YAML warning as a problem; an unresolved tag is named with its field, line and the tag as written. */
function warningProblem(warning: { code: string; message: string; pos: [number, number] }, text: string, document: Document, lineOf: (offset: number) => number): ConfigProblem {
  const line = lineOf(warning.pos[0]);
  if (warning.code !== 'TAG_RESOLVE_FAILED') return { path: `line ${line}`, message: warning.message.split('\n')[0] };
  const tag = text.slice(warning.pos[0], warning.pos[1]);
  // The tagged node starts after its tag.
  const tagged = findNode(document, (node) => Boolean(node.tag) && (node.range?.[0] ?? -1) >= warning.pos[1]);
  const field = tagged ? fieldPath(tagged.ancestors, tagged.node) : [];
  return {
    path: field.length ? `${formatFieldPath(field)} (line ${line})` : `line ${line}`,
    message: `unknown YAML tag "${tag}": environment files take plain values, and tags are never expanded; write the value itself`,
    value: text.slice(warning.pos[0], text.indexOf('\n', warning.pos[0]) === -1 ? undefined : text.indexOf('\n', warning.pos[0])).slice(0, 80),
  };
}

type YamlNode = { tag?: string; range?: [number, number, number] | null };

/** The first node (in document order) that `match` accepts, with its ancestors. */
function findNode(document: Document, match: (node: YamlNode) => boolean): { node: YamlNode; ancestors: readonly unknown[] } | undefined {
  let found: { node: YamlNode; ancestors: readonly unknown[] } | undefined;
  visit(document, {
    Node(_key, node, ancestors) {
      if (match(node as YamlNode)) {
        found = { node: node as YamlNode, ancestors: [...ancestors] };
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** The configuration field path of a node, from its ancestors (maps by key, sequences by index). */
function fieldPath(ancestors: readonly unknown[], node: unknown): (string | number)[] {
  const path: (string | number)[] = [];
  const chain = [...ancestors, node];
  chain.forEach((ancestor, index) => {
    const child = chain[index + 1];
    if (child === undefined) return;
    if (isPair(ancestor) && ancestor.value === child) {
      const key = isScalar(ancestor.key) ? ancestor.key.value : ancestor.key;
      path.push(typeof key === 'number' ? key : String(key));
    } else if (isSeq(ancestor)) {
      path.push(ancestor.items.indexOf(child as never));
    }
  });
  return path;
}

export function listEnvironments(envsDir: string): string[] {
  try {
    return readdirSync(envsDir)
      .filter((name) => name.endsWith('.yaml') && !name.includes('.example.'))
      .map((name) => name.slice(0, -'.yaml'.length))
      .sort();
  } catch {
    return [];
  }
}

/** Where the file's fields are, to name their lines. @default - no lines (a configuration object) */
export interface ConfigSourceMap {
  readonly document: Document;
  readonly lineCounter: LineCounter;
}

/**
 * One issue as the problems an operator reads: the field path (with its line when known), message, value.
 * `data` is the whole checked input: an unknown field lists the fields accepted beside it, and in a
 * discriminated union (state.backend) those of the variant the input chose. @default - no input (every variant's)
 */
export function toProblems(issue: z.core.$ZodIssue, source?: ConfigSourceMap, data?: unknown): ConfigProblem[] {
  const path = issue.path.filter((part): part is string | number => typeof part !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const { keys: accepted, variant } = knownKeysAt(path, valueAt(data, path));
    return issue.keys.map((key) => ({
      path: locate([...path, key], source),
      message: `unknown field${accepted.length ? `; accepted here${variant ? ` (with ${variant})` : ''}: ${accepted.join(', ')}` : ''}`,
    }));
  }
  // A union reports the whole object; show the offending field's own value.
  const last = path[path.length - 1];
  const input =
    issue.input !== null && typeof issue.input === 'object' && typeof last === 'string' && last in issue.input
      ? (issue.input as Record<string, unknown>)[last]
      : issue.input;
  const missing = input === undefined;
  return [
    {
      path: locate(path, source),
      message: missing ? `missing: ${issue.message}` : issue.message,
      value: missing ? undefined : renderValue(input),
    },
  ];
}

/** `services.fulcio.replicas (line 12)` */
function locate(path: (string | number)[], source?: ConfigSourceMap): string {
  const dotted = path.length ? formatFieldPath(path) : '(top level)';
  if (!source) return dotted;
  const { document, lineCounter } = source;
  for (let depth = path.length; depth > 0; depth--) {
    const node = document.getIn(path.slice(0, depth), true);
    const key = depth === path.length ? findKeyNode(document, path) : undefined;
    const range = (key ?? (isNode(node) ? node : undefined))?.range;
    if (range) return `${dotted} (line ${lineCounter.linePos(range[0]).line})`;
  }
  return dotted;
}

function findKeyNode(document: Document, path: (string | number)[]) {
  const parent = path.length > 1 ? document.getIn(path.slice(0, -1), true) : document.contents;
  if (!parent || !('items' in (parent as object))) return undefined;
  const items = (parent as { items: unknown[] }).items;
  for (const item of items) {
    const pair = item as { key?: { value?: unknown; range?: [number, number, number] } };
    if (pair.key && pair.key.value === path[path.length - 1]) return pair.key as { range?: [number, number, number] };
  }
  return undefined;
}

function renderValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** `<source> <summary>:` and one line per problem: `  - path (line N): message (got value)`. */
export function formatProblems(source: string, summary: string, problems: readonly ConfigProblem[]): string {
  const lines = problems.map((problem) => `  - ${problem.path}: ${problem.message}${problem.value !== undefined ? ` (got ${problem.value})` : ''}`);
  return `${source} ${summary}:\n${lines.join('\n')}`;
}

/** The field names the schema accepts at a path, for "unknown field" messages. */
function valueAt(data: unknown, path: readonly (string | number)[]): unknown {
  return path.reduce<unknown>((node, part) => (node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[part] : undefined), data);
}

/**
 * The fields the schema accepts at `path`; of a discriminated union, those of the variant `value`
 * chose (`variant`: e.g. "backend: local"), or of every variant when it chose none.
 */
function knownKeysAt(path: (string | number)[], value?: unknown): { keys: string[]; variant?: string } {
  let schema: unknown = configSchema;
  const unwrap = (node: unknown): unknown => {
    let current = node as { _zod?: { def: Record<string, unknown> } };
    for (let guard = 0; guard < 20 && current?._zod; guard++) {
      const def = current._zod.def;
      if (def.innerType) current = def.innerType as typeof current;
      else if (def.type === 'pipe') current = def.in as typeof current;
      else break;
    }
    return current;
  };
  for (const part of path) {
    const node = unwrap(schema) as { _zod: { def: Record<string, unknown> } };
    const def = node?._zod?.def;
    if (!def) return { keys: [] };
    if (def.type === 'object' && typeof part === 'string') schema = (def.shape as Record<string, unknown>)[part];
    else if (def.type === 'array' && typeof part === 'number') schema = def.element;
    else return { keys: [] };
  }
  const def = (unwrap(schema) as { _zod?: { def: Record<string, unknown> } })?._zod?.def;
  if (def?.type === 'object') return { keys: Object.keys(def.shape as object) };
  if (def?.type === 'union') {
    type Option = { _zod: { def: { shape?: Record<string, { _zod?: { def?: { values?: unknown[] } } }> } } };
    const options = def.options as Option[];
    const discriminator = def.discriminator as string | undefined;
    const chosen = discriminator !== undefined && value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[discriminator] : undefined;
    const variant = options.filter((option) => option._zod.def.shape?.[discriminator ?? '']?._zod?.def?.values?.includes(chosen));
    const keys = [...new Set((variant.length > 0 ? variant : options).flatMap((option) => Object.keys(option._zod.def.shape ?? {})))];
    return variant.length > 0 ? { keys, variant: `${discriminator}: ${String(chosen)}` } : { keys };
  }
  return { keys: [] };
}

function displayPath(path: string): string {
  const shown = relative(process.cwd(), path);
  return shown && !shown.startsWith('..') ? shown : path;
}
