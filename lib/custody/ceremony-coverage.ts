import { createHash } from 'node:crypto';
import { StateError } from '../errors';
import { parseCeremonyLog, type CeremonyLine, type SignResultRecord } from '../pki/ceremony-log';
import type { StateSnapshot } from '../state/store';
import type { RootSignedArtifact } from './root-signed';

/**
 * Why the ceremony log is not the record the state vouches for, or nothing:
 * - the log is a valid hash chain (lib/pki/ceremony-log.ts);
 * - it reaches the head the manifest recorded at the last commit, and that line is the recorded one
 *   (so a log cut short, replaced or rewritten is caught); lines after the head are a run that
 *   stopped before it committed, and are accepted when they chain;
 * - every root-signed certificate and TUF root in the state has its signature on record before the
 *   head: a `sign-intent` with its digest, key reference and pinned key, answered by a `signed`
 *   result with the SHA-256 of the very signature the state holds (or an `adopt` record of
 *   `state upgrade`).
 */
export function ceremonyLogProblems(snapshot: StateSnapshot, artifacts: readonly RootSignedArtifact[], directory: string): string[] {
  const path = `${directory}/ceremony.jsonl`;
  const head = snapshot.ceremonyLogHead;
  const bytes = snapshot.loadedCeremonyLog;
  if (!bytes) {
    if (!head && artifacts.length === 0) return [];
    return [`${path} is missing, but the state holds ${head ? `a log of ${head.records} records` : 'root-signed material'}`];
  }
  const log = parseCeremonyLog(bytes, snapshot.env, path);
  if (log.problems.length > 0) {
    // A log no commit ever vouched for (a first run that failed, perhaps of an older sigstore-cdk).
    const unvouched = !head && artifacts.length === 0 ? [`no state was committed with this log: move ${path} out of the state directory to start a new one`] : [];
    return [...log.problems, ...unvouched];
  }
  if (!head) {
    return artifacts.length === 0 ? [] : [`the manifest records no ceremony log head, but the state holds root-signed material`];
  }
  if (log.lines.length < head.records) return [`${path} has ${log.lines.length} records, the manifest recorded ${head.records}: the log was cut short or replaced`];
  if (log.lines[head.records - 1].hash !== head.head) {
    return [`${path} line ${head.records} is not the line the manifest recorded (SHA-256 ${head.head}): the log was replaced or rewritten`];
  }
  const committed = log.lines.slice(0, head.records);
  return artifacts
    .filter((artifact) => !onRecord(artifact, committed, snapshot))
    .map(
      (artifact) =>
        `${artifact.path}: its signature by ${artifact.pin?.keyRef ?? artifact.signedBy ?? 'its root key'} (${artifact.purpose}, ${artifact.digestAlgorithm} ${artifact.digest}) is not in ${path}`,
    );
}

function onRecord(artifact: RootSignedArtifact, lines: readonly CeremonyLine[], snapshot: StateSnapshot): boolean {
  const pin = artifact.pin === undefined ? snapshot.rootKeyPin(artifact.root) : artifact.pin;
  const signatureSha256 = createHash('sha256').update(artifact.signature).digest('hex');
  const signedBy = (artifact.signedBy ?? '').split(',');
  const matches = (record: { keyRef: string; keySpki: string; digest: string }) =>
    record.digest === artifact.digest && record.keyRef === pin?.keyRef && signedBy.includes(record.keyRef) && record.keySpki === pin?.spkiSha256;
  const results = new Map<string, SignResultRecord>();
  for (const { record } of lines) if (record.kind === 'sign-result') results.set(record.intent, record);
  return lines.some(({ record, hash }) => {
    if (record.kind === 'adopt') return matches(record) && record.signatureSha256 === signatureSha256;
    if (record.kind !== 'sign-intent' || !matches(record)) return false;
    const result = results.get(hash);
    return result?.outcome === 'signed' && result.signatureSha256 === signatureSha256;
  });
}

/** Throws STATE_CEREMONY_LOG_INVALID naming every problem `ceremonyLogProblems` found. */
export function expectCeremonyLogCovers(snapshot: StateSnapshot, artifacts: readonly RootSignedArtifact[], directory: string): void {
  const problems = ceremonyLogProblems(snapshot, artifacts, directory);
  if (problems.length === 0) return;
  throw new StateError(
    'STATE_CEREMONY_LOG_INVALID',
    `the ceremony log of ${directory} is not the record of its root-key signatures; nothing was changed:\n${problems.map((problem) => `  - ${problem}`).join('\n')}\n` +
      `Restore ${directory}/ceremony.jsonl from a backup of the state (it is append-only: never edit or shorten it).`,
  );
}
