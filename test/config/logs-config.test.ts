import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText } from '../../lib/config/load';
import { usesTrillian } from '../../lib/config/logs-schema';
import { configError } from '../helpers/config';

const BASE = 'organization: Test Org\n';
const problems = (text: string) => Object.fromEntries(configError(BASE + text).problems.map((problem) => [problem.path.replace(/ \(line \d+\)$/, ''), problem]));

describe('logs: which server runs each transparency log', () => {
  it('defaults to Rekor v1 and ct_server on Trillian, so existing environments are unchanged', () => {
    const config = parseConfigText(BASE, 'envs/dev.yaml');
    expect(config.logs).toEqual({ rekor: 'v1', ct: 'trillian', rekorStorage: { size: '10Gi' }, ctStorage: { size: '10Gi' } });
    expect(usesTrillian(config)).toBe(true);
  });

  it('accepts tiles for both, and then no log uses Trillian', () => {
    const config = parseConfigText(`${BASE}logs: { rekor: v2, ct: tesseract, rekorStorage: { size: 20Gi, storageClassName: csi-disk } }\n`, 'envs/x.yaml');
    expect(config.logs.rekor).toBe('v2');
    expect(config.logs.ct).toBe('tesseract');
    expect(config.logs.rekorStorage).toEqual({ size: '20Gi', storageClassName: 'csi-disk' });
    expect(usesTrillian(config)).toBe(false);
    expect(usesTrillian(parseConfigText(`${BASE}logs: { rekor: v2 }\n`, 'envs/x.yaml'))).toBe(true);
  });

  it('names the field, the value and what is accepted', () => {
    const found = problems('logs: { rekor: v3, ct: sunlight, rekorStorage: { size: 10GB }, extra: 1 }\n');
    expect(found['logs.rekor']).toMatchObject({ value: '"v3"' });
    expect(found['logs.rekor'].message).toMatch(/"v1" \(Rekor v1 on Trillian\) or "v2" \(Rekor v2, rekor-tiles\)/);
    expect(found['logs.ct'].message).toMatch(/"trillian" .* or "tesseract"/);
    expect(found['logs.rekorStorage.size'].message).toMatch(/storage size/);
    expect(Object.keys(found).some((path) => path.startsWith('logs'))).toBe(true);
    expect(JSON.stringify(found)).toMatch(/extra/);
  });

  it('makes the TSA mandatory for a public Rekor v2: its hostname is required, naming the field', () => {
    const found = problems('logs: { rekor: v2 }\nservices: { rekor: { hostname: rekor.example.com } }\n');
    expect(Object.keys(found)).toEqual(['services.tsa.hostname']);
    expect(found['services.tsa.hostname'].message).toMatch(/logs\.rekor is "v2".*no integrated timestamp.*TSA/);
    // With the TSA's hostname, or with Rekor v1, the same file is fine.
    expect(() => parseConfigText(`${BASE}logs: { rekor: v2 }\nservices: { rekor: { hostname: rekor.example.com }, tsa: { hostname: tsa.example.com } }\n`, 'envs/x.yaml')).not.toThrow();
    expect(() => parseConfigText(`${BASE}services: { rekor: { hostname: rekor.example.com } }\n`, 'envs/x.yaml')).not.toThrow();
  });

  it('refuses more than one replica of a tile-based log (single writer on a ReadWriteOnce volume)', () => {
    const found = problems('logs: { rekor: v2, ct: tesseract }\nservices: { rekor: { replicas: 2 }, ctlog: { replicas: 3 } }\n');
    expect(found['services.rekor.replicas']).toMatchObject({ value: '2' });
    expect(found['services.rekor.replicas'].message).toMatch(/expected 1 because logs\.rekor is "v2"/);
    expect(found['services.ctlog.replicas'].message).toMatch(/expected 1 because logs\.ct is "tesseract"/);
  });

  it('refuses more than one Trillian log signer when no log writes to Trillian, but keeps tree ids (a migrated environment needs them)', () => {
    const found = problems('logs: { rekor: v2, ct: tesseract }\nservices: { trillian: { logSignerReplicas: 2, treeIds: { rekor: "1", ctlog: "2" } } }\n');
    expect(found['services.trillian.treeIds']).toBeUndefined();
    expect(found['services.trillian.logSignerReplicas'].message).toMatch(/expected 1: with logs.rekor "v2" and logs.ct "tesseract" no log writes to Trillian/);
  });

  it('envs/tiles.example.yaml is valid and uses tiles for both logs', () => {
    const config = parseConfigText(readFileSync(join(__dirname, '..', '..', 'envs', 'tiles.example.yaml'), 'utf8'), 'envs/tiles.example.yaml');
    expect(config.logs.rekor).toBe('v2');
    expect(config.logs.ct).toBe('tesseract');
    expect(config.services.tsa.hostname).toBe('tsa.example.com');
  });
});
