import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LineCounter, isNode, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors';
import { configSchema, crossFieldProblems, type SigstoreConfig } from './schema';

const ENV_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;

export interface LoadConfigOptions {
  /** Environment name: reads `<envsDir>/<env>.yaml`. */
  readonly env: string;
  /** Directory of environment files. @default envs */
  readonly envsDir?: string;
}

/** Reads, parses and validates `envs/<env>.yaml`. Throws a ConfigError naming every bad field. */
export function loadConfig(options: LoadConfigOptions): SigstoreConfig {
  const envsDir = options.envsDir ?? 'envs';
  if (!ENV_NAME.test(options.env)) {
    throw new ConfigError(
      'ENV_NAME_INVALID',
      `--env ${JSON.stringify(options.env)} is not an environment name: expected lowercase letters, digits and "-" (at most 40), e.g. "dev" or "prd"`,
    );
  }
  const file = join(envsDir, `${options.env}.yaml`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      const available = listEnvironments(envsDir);
      throw new ConfigError(
        'CONFIG_NOT_FOUND',
        `environment "${options.env}" has no file ${displayPath(file)}; ` +
          (available.length ? `available: ${available.join(', ')}` : `no environment files in ${displayPath(envsDir)}`),
      );
    }
    throw new ConfigError('CONFIG_UNREADABLE', `cannot read ${displayPath(file)}: ${(error as Error).message}`, [], { cause: error });
  }
  return { ...parseConfigText(text, displayPath(file)), env: options.env };
}

/** Validates YAML text (already read from `source`) against the schema. */
export function parseConfigText(text: string, source: string): z.output<typeof configSchema> {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    const problems = document.errors.map((error): ConfigProblem => {
      const line = error.linePos?.[0]?.line ?? lineCounter.linePos(error.pos[0]).line;
      return { path: `line ${line}`, message: error.message.split('\n')[0] };
    });
    throw new ConfigError('CONFIG_UNREADABLE', formatProblems(source, 'is not valid YAML', problems), problems);
  }
  const data = document.toJS() ?? {};
  const result = configSchema.safeParse(data, { reportInput: true });
  if (result.success) return result.data;
  const issues: z.core.$ZodIssue[] = [...result.error.issues];
  // zod skips refinements of an object with invalid fields: report the cross-field rules anyway.
  const reported = new Set(issues.map((issue) => issue.path.join('.')));
  for (const problem of crossFieldProblems(data)) {
    if (!reported.has(problem.path.join('.'))) issues.push({ code: 'custom', ...problem } as z.core.$ZodIssue);
  }
  const problems = issues.flatMap((issue) => toProblems(issue, document, lineCounter));
  throw new ConfigError('CONFIG_INVALID', formatProblems(source, `has ${problems.length} invalid field${problems.length === 1 ? '' : 's'}`, problems), problems);
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

function toProblems(issue: z.core.$ZodIssue, document: Document, lineCounter: LineCounter): ConfigProblem[] {
  const path = issue.path.filter((part): part is string | number => typeof part !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const accepted = knownKeysAt(path);
    return issue.keys.map((key) => ({
      path: locate([...path, key], document, lineCounter),
      message: `unknown field${accepted.length ? `; accepted here: ${accepted.join(', ')}` : ''}`,
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
      path: locate(path, document, lineCounter),
      message: missing ? `missing: ${issue.message}` : issue.message,
      value: missing ? undefined : renderValue(input),
    },
  ];
}

/** `services.fulcio.replicas (line 12)` */
function locate(path: (string | number)[], document: Document, lineCounter: LineCounter): string {
  const dotted = path.length ? path.map((part) => (typeof part === 'number' ? `[${part}]` : part)).join('.').replace(/\.\[/g, '[') : '(top level)';
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

function formatProblems(source: string, summary: string, problems: readonly ConfigProblem[]): string {
  const lines = problems.map((problem) => `  - ${problem.path}: ${problem.message}${problem.value !== undefined ? ` (got ${problem.value})` : ''}`);
  return `${source} ${summary}:\n${lines.join('\n')}`;
}

/** The field names the schema accepts at a path, for "unknown field" messages. */
function knownKeysAt(path: (string | number)[]): string[] {
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
    if (!def) return [];
    if (def.type === 'object' && typeof part === 'string') schema = (def.shape as Record<string, unknown>)[part];
    else if (def.type === 'array' && typeof part === 'number') schema = def.element;
    else return [];
  }
  const def = (unwrap(schema) as { _zod?: { def: Record<string, unknown> } })?._zod?.def;
  if (def?.type === 'object') return Object.keys(def.shape as object);
  if (def?.type === 'union') {
    return [...new Set((def.options as { _zod: { def: { shape: object } } }[]).flatMap((option) => Object.keys(option._zod.def.shape ?? {})))];
  }
  return [];
}

function displayPath(path: string): string {
  const shown = relative(process.cwd(), path);
  return shown && !shown.startsWith('..') ? shown : path;
}
