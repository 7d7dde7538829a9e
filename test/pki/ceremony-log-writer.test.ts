import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CeremonyLogWriter, parseCeremonyLog, type NewCeremonyRecord } from '../../lib/pki/ceremony-log';
import { StateStore } from '../../lib/state/store';
import { useTempDirectory } from '../helpers/temp-directory';

/*
 * The writer appends without parsing the whole log again when the log on disk is the one it wrote
 * (a ceremony appends tens of records), and still refuses a log changed behind its back and a
 * record that would break the chain.
 */
const digest = (n: number) => n.toString(16).padStart(64, '0');

function intent(env: string, n: number): NewCeremonyRecord {
  return { kind: 'sign-intent', time: '2026-01-01T00:00:00.000Z', env, operator: 'test', keyRef: 'local:fulcio-root', keySpki: digest(1), purpose: `item ${n}`, digestAlgorithm: 'SHA-256', digest: digest(n) };
}

function result(env: string, intentHash: string): NewCeremonyRecord {
  return {
    kind: 'sign-result',
    time: '2026-01-01T00:00:00.000Z',
    env,
    intent: intentHash,
    keyRef: 'local:fulcio-root',
    outcome: 'signed',
    signatureSha256: digest(2000),
  } as NewCeremonyRecord;
}

describe('CeremonyLogWriter', () => {
  const temp = useTempDirectory();
  const storeIn = () => new StateStore({ root: join(temp(), '.sigstore'), env: 'test' });
  const logOf = (store: StateStore) => readFileSync(join(store.directory, 'ceremony.jsonl'));

  it('appends a chained log that parses whole, record after record', async () => {
    const store = storeIn();
    const writer = new CeremonyLogWriter(store);
    for (let n = 1; n <= 40; n++) await writer.append(result('test', await writer.append(intent('test', n))));
    const parsed = parseCeremonyLog(logOf(store), 'test');
    expect(parsed.problems).toEqual([]);
    expect(parsed.lines).toHaveLength(80);
    expect(parsed.lines.map((line) => line.record.seq)).toEqual(Array.from({ length: 80 }, (_, index) => index + 1));
  });

  it('a second writer (another process) continues the chain the first one wrote', async () => {
    const store = storeIn();
    await new CeremonyLogWriter(store).append(intent('test', 1));
    await new CeremonyLogWriter(store).append(intent('test', 2));
    const parsed = parseCeremonyLog(logOf(store), 'test');
    expect(parsed.problems).toEqual([]);
    expect(parsed.lines.map((line) => line.record.seq)).toEqual([1, 2]);
  });

  it('refuses to extend a log edited behind its back since its last append, and writes nothing', async () => {
    const store = storeIn();
    const writer = new CeremonyLogWriter(store);
    await writer.append(intent('test', 1));
    await writer.append(intent('test', 2));
    const path = join(store.directory, 'ceremony.jsonl');
    const edited = readFileSync(path, 'utf8').replace('item 1', 'item 9');
    writeFileSync(path, edited);
    await expect(writer.append(intent('test', 3))).rejects.toMatchObject({ code: 'STATE_CEREMONY_LOG_INVALID', message: expect.stringContaining('line 2 does not chain') });
    expect(readFileSync(path, 'utf8')).toBe(edited);
  });

  it('refuses a record that would break the chain (another environment, the outcome of no intent), before writing it', async () => {
    const store = storeIn();
    const writer = new CeremonyLogWriter(store);
    await writer.append(intent('test', 1));
    const before = logOf(store);
    await expect(writer.append(intent('prd', 2))).rejects.toMatchObject({ code: 'STATE_CEREMONY_LOG_INVALID', message: expect.stringContaining('is a record of environment "prd"') });
    await expect(writer.append(result('test', digest(7)))).rejects.toMatchObject({ message: expect.stringContaining('is the outcome of no earlier sign-intent') });
    expect(logOf(store)).toEqual(before);
    // The log is whole, and the writer goes on from it.
    await writer.append(intent('test', 3));
    expect(parseCeremonyLog(logOf(store), 'test').problems).toEqual([]);
  });
});
