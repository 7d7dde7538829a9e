import { DEFAULT_SCHEMA, dump, type Type } from 'js-yaml';

/**
 * The YAML of one rendered Kubernetes object: byte for byte what js-yaml's
 * `dump(document, { lineWidth: -1, noRefs: true })` writes, in a fraction of its time.
 *
 * Why not js-yaml alone: a synth renders ~100 KB of manifests, and js-yaml examines every string
 * character by character (plain or quoted, block or not, which implicit type it could be taken for):
 * 39 ms of a 370 ms warm synth, the largest single step. The documents cdk8s renders are plain JSON
 * (mappings, sequences, ASCII strings, integers, booleans), for which js-yaml's choices reduce to a
 * few string tests, made here with native regular expressions. Anything outside that (a string with
 * a tab or a non-ASCII character, a float, a key over 1024 characters or with a line break, a value
 * that is not JSON) is not guessed at: the whole document goes to js-yaml. test/k8s/manifest-yaml.test.ts
 * compares both on every document of the test environments and on strings chosen to hit each rule.
 *
 * The rules below follow js-yaml 4's dumper (lib/dumper.js: writeNode, writeBlockMapping,
 * writeBlockSequence, writeScalar, chooseScalarStyle, isPlainSafe*, blockHeader, indentString) for
 * block style, indent 2, no line folding, no references, compat mode on (YAML 1.1 booleans quoted).
 */
export function manifestYaml(document: unknown): string {
  return plainJsonYaml(document) ?? dump(document, { lineWidth: -1, noRefs: true });
}

/**
 * What js-yaml would write for `document` when it is plain JSON of the kind decided here; undefined
 * when it is not (then js-yaml itself writes it). @internal exported for the tests.
 */
export function plainJsonYaml(document: unknown): string | undefined {
  try {
    const written = node(document, 0, true);
    return written === undefined ? '' : `${written}\n`;
  } catch (error) {
    if (error === NOT_PLAIN_JSON) return undefined;
    throw error;
  }
}

/** Thrown (and caught above) for anything the fast path does not decide itself. */
const NOT_PLAIN_JSON = Symbol('not plain JSON');

const INDENT_PER_LEVEL = 2;

/** js-yaml quotes these in compat mode (YAML 1.1 readers such as go-yaml take them for booleans). */
const DEPRECATED_BOOLEANS = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);
const DEPRECATED_BASE60 = /^[-+]?[0-9_]+(?::[0-9_]+)+(?:\.[0-9_]*)?$/;

/** Printable ASCII and line feeds only: the characters whose styles are decided here. */
const ASCII_PRINTABLE_OR_LF = /^[\x20-\x7e\n]*$/;
/** Characters a plain scalar may not start with: white space and the YAML indicators. */
const NOT_PLAIN_FIRST = new Set([' ', '\t', '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '=', '>', "'", '"', '%', '@', '`']);
/** A letter first: only the null and boolean words can be read as another type. */
const LETTER_FIRST = /^[A-Za-z]/;
const NULL_OR_BOOLEAN_WORDS = new Set(['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE']);
const MAYBE_ANOTHER_TYPE_FIRST = /^[-+.0-9~<]/;
/**
 * The implicit types of js-yaml's default schema (null, bool, int, float, timestamp, merge), which a
 * plain scalar must not match: the list js-yaml's dumper itself tests (`state.implicitTypes`). Not in
 * its type declarations; when a js-yaml release drops it, such strings go to js-yaml.
 */
const IMPLICIT_TYPES: readonly Type[] | undefined = (DEFAULT_SCHEMA as unknown as { compiledImplicit?: Type[] }).compiledImplicit;
const KEY_LENGTH_LIMIT = 1024;

const lineBreaks: string[] = [];
function nextLine(level: number): string {
  return (lineBreaks[level] ??= `\n${' '.repeat(INDENT_PER_LEVEL * level)}`);
}

/** The YAML of `value` at `level`, or undefined for a value js-yaml leaves out (undefined). */
function node(value: unknown, level: number, compact: boolean): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return scalar(value, level, false);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (Number.isSafeInteger(value) && !Object.is(value, -0)) return String(value);
      throw NOT_PLAIN_JSON;
    case 'undefined':
      return undefined;
    case 'object':
      if (Array.isArray(value)) return sequence(value, level, compact);
      if (Object.prototype.toString.call(value) === '[object Object]') return mapping(value as Record<string, unknown>, level, compact);
      throw NOT_PLAIN_JSON;
    default:
      throw NOT_PLAIN_JSON;
  }
}

function sequence(items: readonly unknown[], level: number, compact: boolean): string {
  if (items.length === 0) return '[]';
  let result = '';
  for (const item of items) {
    const written = node(item, level + 1, true) ?? 'null';
    if (!compact || result !== '') result += nextLine(level);
    result += written.charCodeAt(0) === 10 ? '-' : '- ';
    result += written;
  }
  return result;
}

function mapping(object: Record<string, unknown>, level: number, compact: boolean): string {
  const keys = Object.keys(object);
  if (keys.length === 0) return '{}';
  let result = '';
  for (const key of keys) {
    const written = node(object[key], level + 1, false);
    if (written === undefined) continue;
    const keyText = scalar(key, level + 1, true);
    // js-yaml writes a longer key as an explicit pair ("? key").
    if (keyText.length > KEY_LENGTH_LIMIT) throw NOT_PLAIN_JSON;
    if (!compact || result !== '') result += nextLine(level);
    result += keyText;
    result += written.charCodeAt(0) === 10 ? ':' : ': ';
    result += written;
  }
  return result || '{}';
}

/**
 * Single-line strings as written (their form does not depend on the level): manifests repeat the same
 * keys and label values hundreds of times. Emptied when it grows past its limit.
 */
const singleLine = new Map<string, string>();
const SINGLE_LINE_LIMIT = 20_000;

function scalar(text: string, level: number, isKey: boolean): string {
  const known = singleLine.get(text);
  if (known !== undefined) return known;
  const written = scalarStyle(text, level, isKey);
  if (!text.includes('\n')) {
    if (singleLine.size >= SINGLE_LINE_LIMIT) singleLine.clear();
    singleLine.set(text, written);
  }
  return written;
}

function scalarStyle(text: string, level: number, isKey: boolean): string {
  if (text.length === 0) return "''";
  if (DEPRECATED_BOOLEANS.has(text) || DEPRECATED_BASE60.test(text)) return `'${text}'`;
  if (!ASCII_PRINTABLE_OR_LF.test(text)) throw NOT_PLAIN_JSON;
  if (text.includes('\n')) {
    // A key on one line only (js-yaml double-quotes it); a value as a literal block.
    if (isKey) throw NOT_PLAIN_JSON;
    return literalBlock(text, INDENT_PER_LEVEL * Math.max(1, level));
  }
  const plain =
    !NOT_PLAIN_FIRST.has(text[0]) &&
    text[text.length - 1] !== ' ' &&
    text[text.length - 1] !== ':' &&
    !text.includes(' #') &&
    !text.includes(': ') &&
    !readAsAnotherType(text);
  return plain ? text : `'${text.replace(/'/g, "''")}'`;
}

function readAsAnotherType(text: string): boolean {
  if (LETTER_FIRST.test(text)) return NULL_OR_BOOLEAN_WORDS.has(text);
  // Every other implicit type starts with a sign, a digit, a dot (.inf, .5), `~` (null) or `<<` (merge).
  if (!MAYBE_ANOTHER_TYPE_FIRST.test(text)) return false;
  if (!Array.isArray(IMPLICIT_TYPES)) throw NOT_PLAIN_JSON;
  return IMPLICIT_TYPES.some((type) => type.resolve(text));
}

function literalBlock(text: string, indent: number): string {
  const indentIndicator = /^\n* /.test(text) ? String(INDENT_PER_LEVEL) : '';
  const clip = text[text.length - 1] === '\n';
  const keep = clip && (text[text.length - 2] === '\n' || text === '\n');
  const chomp = keep ? '+' : clip ? '' : '-';
  const indentation = ' '.repeat(indent);
  let body = '';
  let position = 0;
  while (position < text.length) {
    const next = text.indexOf('\n', position);
    const line = next === -1 ? text.slice(position) : text.slice(position, next + 1);
    position = next === -1 ? text.length : next + 1;
    if (line.length && line !== '\n') body += indentation;
    body += line;
  }
  if (body[body.length - 1] === '\n') body = body.slice(0, -1);
  return `|${indentIndicator}${chomp}\n${body}`;
}
