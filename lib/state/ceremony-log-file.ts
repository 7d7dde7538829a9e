import { createHash } from 'node:crypto';
import type { CeremonyLogHead } from './manifest';

/*
 * The ceremony log as a file: JSON lines, each hash-chained to the one before by the SHA-256 of that
 * line's bytes (UTF-8, without the newline). What a record means is lib/pki/ceremony-log.ts.
 */

/** `prev` of the first record: no line comes before it. */
export const CEREMONY_LOG_GENESIS = '0'.repeat(64);

/** The SHA-256 (hex) of one line, as the next record's `prev` and the manifest's head carry it. */
export function ceremonyLineHash(line: string): string {
  return createHash('sha256').update(line, 'utf8').digest('hex');
}

/** The complete lines of a log, and the bytes after the last newline (a torn append) if any. */
export function splitCeremonyLog(bytes: Buffer): { lines: string[]; tail: string } {
  const text = bytes.toString('utf8');
  const parts = text.split('\n');
  const tail = parts.pop() ?? '';
  return { lines: parts, tail };
}

/** What the manifest records of a log at a commit: how many lines it has and the hash of the last. */
export function ceremonyLogHeadOf(bytes: Buffer): CeremonyLogHead | undefined {
  const { lines } = splitCeremonyLog(bytes);
  if (lines.length === 0) return undefined;
  return { records: lines.length, head: ceremonyLineHash(lines[lines.length - 1]) };
}
