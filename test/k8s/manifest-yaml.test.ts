import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiObject, App, Chart } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { buildClusterCharts, chartYaml } from '../../lib/k8s/cluster-manifests';
import type { PkiMaterial } from '../../lib/pki/state-items';
import { fixtureMaterial } from '../helpers/fixture-state';
import { PRODUCTION_LIKE_YAML, chartInput } from './cluster-fixture';

/** What kubectl reads: YAML 1.1 (sigs.k8s.io/yaml → go-yaml), where `yes`, `on`, `0777` are not strings. */
const readAsYaml11 = (text: string) => parseAllDocuments(text, { version: '1.1' }).map((document) => document.toJS());

let directory: string;
let material: PkiMaterial;
beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'sigstore-cdk-yaml-'));
  material = await fixtureMaterial(directory);
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('the manifests as YAML (chartYaml)', () => {
  it('a YAML 1.1 reader gets exactly the objects cdk8s synthesized, for the public manifest and the Secrets', () => {
    const { chart, secrets } = buildClusterCharts(chartInput(material, PRODUCTION_LIKE_YAML));
    for (const built of [chart, secrets]) {
      const expected = built.toJson();
      expect(expected.length).toBeGreaterThan(0);
      expect(readAsYaml11(chartYaml(built))).toEqual(expected);
    }
  });

  it('quotes the strings YAML 1.1 would read as booleans, numbers or null, keeps multi-line strings, and writes no anchors', () => {
    const chart = new Chart(new App(), 'yaml');
    const tricky = { a: 'yes', b: 'on', c: 'NO', d: '0777', e: '1e3', f: '~', g: 'null', h: 'y', i: '2026-01-01', j: 'a: b', k: 'line 1\nline 2\n', l: '' };
    const shared = { name: 'shared' };
    new ApiObject(chart, 'config', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'tricky', annotations: tricky }, data: { ...tricky } });
    new ApiObject(chart, 'pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [shared, shared] } });
    const text = chartYaml(chart);
    expect(text).not.toMatch(/[&*]ref_/);
    const [configMap, pod] = readAsYaml11(text);
    expect(configMap.data).toEqual(tricky);
    expect(configMap.metadata.annotations).toEqual(tricky);
    expect(pod.spec.containers).toEqual([shared, shared]);
    expect(text.split(/^---$/m)).toHaveLength(2); // two documents, one separator
    expect(readAsYaml11('a: yes')).toEqual([{ a: true }]); // the reader is the strict one
  });
});
