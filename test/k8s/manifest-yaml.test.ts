import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiObject, App, Chart } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { buildClusterCharts, clusterDocuments, documentsYaml } from '../../lib/k8s/cluster-manifests';
import { INPUT_CHECKSUM_ANNOTATION } from '../../lib/k8s/input-checksums';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { fixtureMaterial } from '../helpers/fixture-state';
import { PRODUCTION_LIKE_YAML, chartInput } from './cluster-fixture';

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
