import { createHash, type KeyObject } from 'node:crypto';
import { userInfo } from 'node:os';
import * as z from 'zod';
import { OtcError, SigstoreCdkError, StateError } from '../errors';
import { CEREMONY_LOG_GENESIS, ceremonyLineHash, splitCeremonyLog } from '../state/ceremony-log-file';
import type { StateSnapshot, StateStore } from '../state/store';
import { spkiSha256 } from './keys';
import type { RootKeyProvider, RootName } from './root-keys';
import type { Signer } from './signer';
import { ecdsaAlgorithmFor } from './signature-algorithm';

/*
 * `.sigstore/<env>/ceremony.jsonl`: every use of a root key, one JSON record per line, hash-chained.
 * Each record carries `seq` (its line number, from 1) and `prev` (the SHA-256 of the previous line's
 * bytes; CEREMONY_LOG_GENESIS for the first). A signature is two records: `sign-intent`, written and
 * synced before the signer is called (so a call whose answer never came is still on record), and
 * `sign-result` after it (`signed` with the SHA-256 of the signature, or `failed` with the error code).
 * `adopt` records are written by `state upgrade` for material signed before the log was chained. No
 * secret is ever recorded (an error's message is not: it may echo a request).
 */

const hex = (length: number) => z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`));
const chained = {
  /** Line number, from 1. */
  seq: z.number().int().min(1),
  /** SHA-256 of the previous line (the genesis for the first). */
  prev: hex(64),
  time: z.iso.datetime(),
  env: z.string(),
};
const signedBytes = {
  keyRef: z.string(),
  /** SHA-256 of the signing key's DER SubjectPublicKeyInfo. */
  keySpki: hex(64),
  /** What was signed: `fulcio-root certificate`, `tuf root metadata v2`. */
  purpose: z.string(),
  digestAlgorithm: z.enum(['SHA-256', 'SHA-384']),
  /** Hex digest of the signed bytes (for a certificate: of its TBSCertificate). */
  digest: z.union([hex(64), hex(96)]),
};

const signIntentSchema = z.strictObject({
  ...chained,
  kind: z.literal('sign-intent'),
  /** Who ran the ceremony (`SIGSTORE_CDK_OPERATOR`, else the OS user). */
  operator: z.string(),
  ...signedBytes,
});

const signResultSchema = z.strictObject({
  ...chained,
  kind: z.literal('sign-result'),
  /** SHA-256 of the `sign-intent` line this is the outcome of. */
  intent: hex(64),
  keyRef: z.string(),
  outcome: z.enum(['signed', 'failed']),
  /** SHA-256 of the DER signature the signer returned (outcome `signed`). */
  signatureSha256: hex(64).optional(),
  /** What a remote signer reported (KMS key id, algorithm, request sequence and id). */
  receipt: z.record(z.string(), z.string()).optional(),
  /** Why it failed (outcome `failed`): the error code and, from a KMS call, status and ids. */
  error: z
    .strictObject({ code: z.string(), httpStatus: z.number().int().optional(), serviceCode: z.string().optional(), requestId: z.string().optional() })
    .optional(),
});

const adoptSchema = z.strictObject({
  ...chained,
  kind: z.literal('adopt'),
  operator: z.string(),
  ...signedBytes,
  signatureSha256: hex(64),
  /** How the key was checked before it was pinned: `otc-kms get-publickey`, `local key file`. */
  evidence: z.string(),
  reason: z.string(),
});

const recordSchema = z.discriminatedUnion('kind', [signIntentSchema, signResultSchema, adoptSchema]);

/** One line of the ceremony log. */
export type CeremonyRecord = z.output<typeof recordSchema>;
export type SignIntentRecord = z.output<typeof signIntentSchema>;
export type SignResultRecord = z.output<typeof signResultSchema>;
export type AdoptRecord = z.output<typeof adoptSchema>;
/** A record as it is appended: the writer adds `seq` and `prev`. */
export type NewCeremonyRecord = DistributiveOmit<CeremonyRecord, 'seq' | 'prev'>;
type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

/** A parsed line and the hash the next line chains to. */
export interface CeremonyLine {
  readonly record: CeremonyRecord;
  readonly hash: string;
}

/** The log, parsed and chain-checked: its records up to the first problem, and every problem found. */
export interface ParsedCeremonyLog {
  readonly lines: readonly CeremonyLine[];
  readonly problems: readonly string[];
}

/**
 * Parses the log and checks its chain: every line a record of this environment, numbered from 1,
 * each `prev` the hash of the line before (the genesis first), every `sign-result` the outcome of an
 * earlier `sign-intent` of the same key, at most one per intent. Stops at the first broken line.
 */
export function parseCeremonyLog(bytes: Buffer, env: string, path = 'ceremony.jsonl'): ParsedCeremonyLog {
  return checkCeremonyLog(bytes, env, path).log;
}

/** parseCeremonyLog, with the checker that holds the chain's state (to check lines appended later). */
function checkCeremonyLog(bytes: Buffer, env: string, path: string): { log: ParsedCeremonyLog; checker: CeremonyLogChecker } {
  const { lines, tail } = splitCeremonyLog(bytes);
  const checker = new CeremonyLogChecker(env, path);
  for (const line of lines) if (!checker.add(line)) break;
  if (checker.problems.length === 0 && tail.length > 0) checker.problems.push(`${path} ends in an incomplete line after line ${lines.length} (an append was cut off)`);
  return { log: { lines: checker.lines, problems: checker.problems }, checker };
}

/** The chain rules of the log, line by line: what parseCeremonyLog checks, kept for the lines that follow. */
class CeremonyLogChecker {
  readonly lines: CeremonyLine[] = [];
  readonly problems: string[] = [];
  private readonly intents = new Map<string, SignIntentRecord>();
  private readonly answered = new Set<string>();

  constructor(
    private readonly env: string,
    private readonly path: string,
  ) {}

  /** The hash the next line chains to. */
  get head(): string {
    return this.lines[this.lines.length - 1]?.hash ?? CEREMONY_LOG_GENESIS;
  }

  /** Checks the next line and takes it when it extends the chain; else records the problem and returns false. */
  add(line: string): boolean {
    const index = this.lines.length;
    const where = `${this.path} line ${index + 1}`;
    let data: unknown;
    try {
      data = JSON.parse(line);
    } catch {
      this.problems.push(`${where} is not JSON`);
      return false;
    }
    const result = recordSchema.safeParse(data);
    if (!result.success) {
      this.problems.push(`${where} is not a ceremony record (${result.error.issues.map((issue) => `${issue.path.join('.') || 'record'}: ${issue.message}`).join('; ')})`);
      return false;
    }
    const record = result.data;
    const expectedPrev = this.head;
    const problem =
      record.seq !== index + 1
        ? `is numbered ${record.seq}`
        : record.prev !== expectedPrev
          ? `does not chain to the line before it (prev ${record.prev}, expected ${expectedPrev}): lines were removed, reordered or edited`
          : record.env !== this.env
            ? `is a record of environment "${record.env}"`
            : record.kind === 'sign-result' && this.intents.get(record.intent)?.keyRef !== record.keyRef
              ? `is the outcome of no earlier sign-intent of ${record.keyRef}`
              : record.kind === 'sign-result' && this.answered.has(record.intent)
                ? 'is a second outcome of the same sign-intent'
                : undefined;
    if (problem) {
      this.problems.push(`${where} ${problem}`);
      return false;
    }
    const hash = ceremonyLineHash(line);
    if (record.kind === 'sign-intent') this.intents.set(hash, record);
    if (record.kind === 'sign-result') this.answered.add(record.intent);
    this.lines.push({ record, hash });
    return true;
  }
}

/** The log of `records` alone, chained from the genesis (what `state upgrade` starts the new log with). */
export function chainedCeremonyLog(records: readonly NewCeremonyRecord[]): Buffer {
  let prev = CEREMONY_LOG_GENESIS;
  const lines = records.map((record, index) => {
    const line = JSON.stringify({ seq: index + 1, prev, ...record });
    prev = ceremonyLineHash(line);
    return `${line}\n`;
  });
  return Buffer.from(lines.join(''));
}

/**
 * Appends chained records through the store: reads the log as it is on disk, refuses to extend a
 * log whose chain is broken, and writes each record with the next `seq` and the previous line's hash.
 * The log this writer last wrote is not parsed again: when the bytes on disk are exactly those, the
 * chain checked then still holds (a ceremony appends tens of records; parsing the whole log at each
 * was quadratic). Each new record is checked against the chain's rules before it is written.
 */
export class CeremonyLogWriter {
  /** The log as this writer left it, and the chain checked up to its end. */
  private written?: { readonly bytes: Buffer; readonly checker: CeremonyLogChecker };

  constructor(private readonly store: Pick<StateStore, 'env' | 'directory' | 'readCeremonyLog' | 'appendCeremonyLog'>) {}

  /** Appends one record durably; returns the SHA-256 of its line. */
  async append(record: NewCeremonyRecord): Promise<string> {
    const bytes = (await this.store.readCeremonyLog()) ?? Buffer.alloc(0);
    const path = `${this.store.directory}/ceremony.jsonl`;
    let checker = this.written && bytes.equals(this.written.bytes) ? this.written.checker : undefined;
    this.written = undefined;
    if (!checker) {
      const checked = checkCeremonyLog(bytes, this.store.env, path);
      if (checked.log.problems.length > 0) {
        throw new StateError(
          'STATE_CEREMONY_LOG_INVALID',
          `refusing to sign: the ceremony log cannot be extended (${checked.log.problems.join('; ')}). Restore ${path} from a backup; nothing was signed`,
        );
      }
      checker = checked.checker;
    }
    const line = JSON.stringify({ seq: checker.lines.length + 1, prev: checker.head, ...record });
    if (!checker.add(line)) {
      throw new StateError('STATE_CEREMONY_LOG_INVALID', `refusing to sign: the record would break the ceremony log (${checker.problems.join('; ')}); nothing was signed`);
    }
    await this.store.appendCeremonyLog(line);
    this.written = { bytes: Buffer.concat([bytes, Buffer.from(`${line}\n`)]), checker };
    return ceremonyLineHash(line);
  }
}

export interface CeremonyLogOptions {
  readonly env: string;
  readonly operator: string;
  readonly clock: () => Date;
  /** Where the records go. */
  readonly log: Pick<CeremonyLogWriter, 'append'>;
}

/**
 * Wraps a signer so that every use of the key is on record (CTS does not record KMS sign calls, so
 * the ceremony keeps its own log): a `sign-intent` before the call, a `sign-result` after it, also
 * when the call failed or timed out. A signature is returned only after its result is logged.
 */
export function withCeremonyLog(signer: Signer, options: CeremonyLogOptions): Signer {
  let publicKey: KeyObject | undefined;
  const common = () => ({ time: options.clock().toISOString(), env: options.env, keyRef: signer.keyRef });
  return {
    keyRef: signer.keyRef,
    publicKey: async () => (publicKey ??= await signer.publicKey()),
    async sign(data, purpose) {
      publicKey ??= await signer.publicKey();
      const algorithm = ecdsaAlgorithmFor(publicKey, signer.keyRef);
      const intent = await options.log.append({
        kind: 'sign-intent',
        ...common(),
        operator: options.operator,
        keySpki: spkiSha256(publicKey),
        purpose,
        digestAlgorithm: algorithm.hash,
        digest: createHash(algorithm.nodeHash).update(data).digest('hex'),
      });
      let signed: { signature: Buffer; receipt?: Readonly<Record<string, string>> };
      try {
        signed = signer.signWithReceipt ? await signer.signWithReceipt(data, purpose) : { signature: await signer.sign(data, purpose) };
      } catch (error) {
        // The signer's error is what the operator needs; a log that cannot take the outcome leaves the
        // intent unanswered, as a crash would, and the next append (or verify) reports the log.
        await options.log.append({ kind: 'sign-result', ...common(), intent, outcome: 'failed', error: failureOf(error) }).catch(() => undefined);
        throw error;
      }
      await options.log.append({
        kind: 'sign-result',
        ...common(),
        intent,
        outcome: 'signed',
        signatureSha256: createHash('sha256').update(signed.signature).digest('hex'),
        ...(signed.receipt ? { receipt: { ...signed.receipt } } : {}),
      });
      return signed.signature;
    },
  };
}

/** What the log keeps of a failure: the stable code and, from an OTC call, status and ids; never the message. */
function failureOf(error: unknown): NonNullable<SignResultRecord['error']> {
  if (!(error instanceof SigstoreCdkError)) return { code: 'UNEXPECTED' };
  const details = error instanceof OtcError ? error.details : {};
  return {
    code: error.code,
    ...(details.httpStatus !== undefined ? { httpStatus: details.httpStatus } : {}),
    ...(details.serviceCode ? { serviceCode: details.serviceCode } : {}),
    ...(details.requestId ? { requestId: details.requestId } : {}),
  };
}

export interface CeremonySignersOptions {
  readonly rootKeys: RootKeyProvider;
  readonly snapshot: StateSnapshot;
  /** Its ceremony log receives the records. */
  readonly store: StateStore;
  readonly clock: () => Date;
  /** Recorded in the ceremony log. @default - $SIGSTORE_CDK_OPERATOR, else $USER, else the OS account name */
  readonly operator?: string;
}

/** Who runs the ceremony: `SIGSTORE_CDK_OPERATOR`, else `$USER`, else the OS account name. */
export function ceremonyOperator(operator?: string): string {
  return operator ?? process.env.SIGSTORE_CDK_OPERATOR ?? process.env.USER ?? osUserName();
}

/**
 * The root keys of one run, each asked for once and only when first needed (a KMS key is never
 * touched by a run that signs nothing with it), each wrapped in the ceremony log.
 */
export function ceremonySigners(options: CeremonySignersOptions): (root: RootName) => Promise<Signer> {
  const { store, clock } = options;
  const operator = ceremonyOperator(options.operator);
  const log = new CeremonyLogWriter(store);
  const signers = new Map<RootName, Promise<Signer>>();
  return (root) => {
    let signer = signers.get(root);
    if (!signer) {
      signer = options.rootKeys.signerFor(root, options.snapshot, clock()).then((inner) => withCeremonyLog(inner, { env: store.env, operator, clock, log }));
      signers.set(root, signer);
    }
    return signer;
  };
}

function osUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
