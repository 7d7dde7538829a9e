import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiObject, App, Chart } from 'cdk8s';
import { dump } from 'js-yaml';
import { parseAllDocuments } from 'yaml';
import { buildClusterCharts, clusterDocuments, documentsYaml } from '../../lib/k8s/cluster-manifests';
import { INPUT_CHECKSUM_ANNOTATION } from '../../lib/k8s/input-checksums';
import { manifestYaml, plainJsonYaml } from '../../lib/k8s/manifest-yaml';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { fixtureMaterial } from '../helpers/fixture-state';
import { TILES_PUBLIC_YAML, TILES_YAML, withTileLogKeys } from '../helpers/tile-log-fixture';
import { EXTERNAL_PLAIN_DATABASE_YAML, PRODUCTION_LIKE_YAML, chartInput } from './cluster-fixture';

/** An annotations object without the checksum; metadata without annotations when that was all it had. */
function stripChecksum(annotations: Record<string, unknown>): Record<string, unknown> | undefined {
  const { [INPUT_CHECKSUM_ANNOTATION]: _checksum, ...rest } = annotations;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

/** What kubectl reads: YAML 1.1 (sigs.k8s.io/yaml → go-yaml), where `yes`, `on`, `0777` are not strings. */
const readAsYaml11 = (text: string) => parseAllDocuments(text, { version: '1.1' }).map((document) => document.toJS());

let directory: string;
let material: PkiMaterial;
beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-yaml-'));
  material = await fixtureMaterial(directory);
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('the manifests as YAML (documentsYaml)', () => {
  it('a YAML 1.1 reader gets exactly the objects cdk8s synthesized, for the public manifest and the Secrets, plus the input checksums', () => {
    const charts = buildClusterCharts(chartInput(material, PRODUCTION_LIKE_YAML));
    const documents = clusterDocuments(charts);
    for (const [built, rendered] of [
      [charts.chart, documents.public],
      [charts.secrets, documents.secrets],
    ] as const) {
      const expected = built.toJson();
      expect(expected.length).toBeGreaterThan(0);
      const read = readAsYaml11(documentsYaml(rendered));
      expect(read).toEqual(rendered);
      // What clusterDocuments adds to cdk8s's rendering is the checksum annotation, nothing else.
      const withoutChecksums = JSON.parse(JSON.stringify(read), (_key, value) =>
        value && typeof value === 'object' && !Array.isArray(value) && INPUT_CHECKSUM_ANNOTATION in value ? stripChecksum(value) : value,
      );
      expect(withoutChecksums).toEqual(expected);
    }
    expect(JSON.stringify(documents.public)).toContain(INPUT_CHECKSUM_ANNOTATION);
  });

  it('quotes the strings YAML 1.1 would read as booleans, numbers or null, keeps multi-line strings, and writes no anchors', () => {
    const chart = new Chart(new App(), 'yaml');
    const tricky = { a: 'yes', b: 'on', c: 'NO', d: '0777', e: '1e3', f: '~', g: 'null', h: 'y', i: '2026-01-01', j: 'a: b', k: 'line 1\nline 2\n', l: '' };
    const shared = { name: 'shared' };
    new ApiObject(chart, 'config', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'tricky', annotations: tricky }, data: { ...tricky } });
    new ApiObject(chart, 'pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [shared, shared] } });
    const text = documentsYaml(chart.toJson());
    expect(text).not.toMatch(/[&*]ref_/);
    const [configMap, pod] = readAsYaml11(text);
    expect(configMap.data).toEqual(tricky);
    expect(configMap.metadata.annotations).toEqual(tricky);
    expect(pod.spec.containers).toEqual([shared, shared]);
    expect(text.split(/^---$/m)).toHaveLength(2); // two documents, one separator
    expect(readAsYaml11('a: yes')).toEqual([{ a: true }]); // the reader is the strict one
  });
});

/** js-yaml's own rendering, as cluster-manifests.ts used it before manifestYaml: the oracle. */
const jsYaml = (document: unknown) => dump(document, { lineWidth: -1, noRefs: true });

describe('manifestYaml writes what js-yaml writes', () => {
  const environments: [string, string, boolean][] = [
    ['the default environment', '', false],
    ['a production-like one', PRODUCTION_LIKE_YAML, false],
    ['an external database without TLS', EXTERNAL_PLAIN_DATABASE_YAML, false],
    ['both logs on tiles', TILES_YAML, true],
    ['both logs on tiles with public hostnames', TILES_PUBLIC_YAML, true],
  ];
  it.each(environments)('for every object of %s, byte for byte, without falling back to js-yaml', (_name, yaml, tiles) => {
    const charts = buildClusterCharts(chartInput(tiles ? withTileLogKeys(material) : material, yaml));
    const documents = clusterDocuments(charts);
    const all = [...documents.public, ...documents.secrets];
    expect(all.length).toBeGreaterThan(20);
    for (const document of all) {
      // The fast path decides every object of a real synth itself (that is the point of it) ...
      const fast = plainJsonYaml(document);
      expect(fast).toBeDefined();
      // ... and writes the very bytes js-yaml writes.
      expect(fast).toBe(jsYaml(document));
    }
  });

  // Each rule of js-yaml's scalar styles, hit from both sides, as a mapping value, a key and a sequence item.
  const strings = [
    'plain', 'with space', 'a:b', 'a: b', 'a:', 'a #b', 'a#b', '#a', '-a', 'a-', '- a', '?a', ':a', ',a', 'a,b', '[a]', 'a[b]', '{a}', 'a{b}',
    '&a', '*a', '!a', '|a', '=a', '>a', "'a", '"a', '%a', '@a', '`a', "it's", 'a"b', ' lead', 'trail ', ' ', '  two',
    'yes', 'Yes', 'YES', 'y', 'n', 'no', 'on', 'On', 'off', 'OFF', 'true', 'True', 'FALSE', 'null', 'Null', 'NULL', '~', '<<', '',
    '0', '7', '-1', '+1', '0777', '0o17', '0x1F', '0b101', '1_000', '1.5', '1e3', '1E3', '.5', '.inf', '-.Inf', '.nan', '.NaN', '1:30', '190:20:30', '1.2.3',
    '/var/run/x', '/', '_x', '$x', '(x)', '^a', '\\a', 'a\\b', '~x', '~/x', '<x', '<<', '<<x', '.a', '.', '..', '+', '-', '0a', '9', 'x0', '2026-01-01', '2026-01-01T00:00:00Z', '2026-01-01 00:00:00', 'v1.2.3', 'ghcr.io/sigstore/fulcio:v1.8.3@sha256:0123abcd', 'https://example.com/a?b=c#d',
    'line 1\nline 2', 'line 1\nline 2\n', 'line 1\n\n', '\n', '\n\n', '\nfirst empty', ' indented\nsecond', '\n indented after a break', 'a\n\n\nb',
    'trailing spaces  \nline', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', '{\n  "json": true\n}\n', 'key: value\nlist:\n  - a\n',
    'tab\there', 'tab\tline\nbreak', 'caf\u00e9', 'nbsp\u00a0x', 'cr\r\nlf', 'bell\u0007', 'emoji \u{1F600}', '\u2028',
  ];
  const numbers = [0, 1, -1, 42, 8080, 2 ** 31, Number.MAX_SAFE_INTEGER, -0, 0.5, 1e21, 1e-7, NaN, Infinity, -Infinity];
  const shapes = (value: unknown) => [
    { key: value },
    { [String(value)]: 'v' },
    { list: [value, value] },
    [value],
    { nested: { deeper: { value } }, list: [{ a: value, b: [value] }, [value, [value]]] },
    value,
  ];
  it.each([...strings, ...numbers.map((number) => [number] as const)].map((value) => [JSON.stringify(value), value]))(
    'the value %s in every position: the same bytes, or js-yaml writes it',
    (_label, value) => {
      for (const document of shapes(Array.isArray(value) ? value[0] : value)) {
        const fast = plainJsonYaml(document);
        if (fast !== undefined) expect(fast).toBe(jsYaml(document));
        expect(manifestYaml(document)).toBe(jsYaml(document));
      }
    },
  );

  it('decides ASCII strings, integers, booleans and null itself; leaves tabs, other characters, floats and non-JSON to js-yaml', () => {
    for (const value of ['plain', 'a: b', 'yes', '0777', '', 'line 1\nline 2\n', ' lead', "it's", 8080, true, false, null, [], {}]) {
      expect(plainJsonYaml({ value })).toBeDefined();
    }
    for (const value of ['tab\there', 'caf\u00e9', 'cr\r\nlf', 0.5, -0, NaN, new Date(0), Buffer.from('x'), () => 1, Symbol('s'), 10n]) {
      expect(plainJsonYaml({ value })).toBeUndefined();
    }
    expect(plainJsonYaml({ 'multi\nline key': 1 })).toBeUndefined(); // js-yaml double-quotes it
    // A key written longer than 1024 characters is an explicit pair ("? key") in js-yaml.
    expect(plainJsonYaml({ ['k'.repeat(1025)]: 1 })).toBeUndefined();
    expect(plainJsonYaml({ [` ${'k'.repeat(1022)}`]: 1 })).toBeUndefined(); // 1023 characters, 1025 quoted
    expect(plainJsonYaml({ ['k'.repeat(1024)]: 1 })).toBe(jsYaml({ ['k'.repeat(1024)]: 1 }));
    expect(plainJsonYaml({ skipped: undefined, kept: 1, list: [undefined] })).toBe(jsYaml({ skipped: undefined, kept: 1, list: [undefined] }));
    expect(plainJsonYaml({ skipped: undefined })).toBe('{}\n');
  });
});
