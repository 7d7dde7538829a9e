import { createHash } from 'node:crypto';
import type * as OpenPgp from 'openpgp' with { 'resolution-mode': 'import' };
import * as z from 'zod';
import { ConfigError, StateError } from '../errors';
import { SecretValue } from '../otc/credentials';

/**
 * One encrypted file holding a whole state directory, for backups (`state export` / `state import`).
 *
 * Why OpenPGP with a passphrase: the backup must open when everything else is gone (the machine, and
 * possibly the cloud account and its KMS keys), so its key is not in KMS; OpenPGP is a standard with
 * independent implementations (the tests decrypt an archive with GnuPG), and `openpgp` (OpenPGP.js,
 * ProtonMail) is a maintained library with a CommonJS build. The message is a symmetrically
 * encrypted, integrity-protected packet (AES-256, SEIPD with MDC, iterated+salted S2K), which
 * GnuPG 2.2 reads too (it does not read RFC 9580's AEAD packets). Inside: a JSON document with every
 * file's bytes and SHA-256, and the SHA-256 of the whole file set, checked on import.
 */
// openpgp is an ES module package with a CommonJS build (its "require" export): the types come from the
// former, the code from the latter.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const openpgp = require('openpgp') as typeof OpenPgp;

export const ARCHIVE_FORMAT = 'sigstore-cdk/state-archive/v1';

/** The environment variable holding the passphrase (never an argument: command lines are visible to every user). */
export const PASSPHRASE_VARIABLE = 'SIGSTORE_CDK_ARCHIVE_PASSPHRASE';
const MIN_PASSPHRASE_LENGTH = 16;

const payloadSchema = z.strictObject({
  format: z.literal(ARCHIVE_FORMAT),
  env: z.string(),
  createdAt: z.iso.datetime(),
  /** SHA-256 over the sorted `path\0sha256\n` lines of every file. */
  checksum: z.string().regex(/^[0-9a-f]{64}$/),
  files: z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/), z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/), base64: z.string() })),
});

/** The passphrase from the environment, registered for redaction; refused when missing or short. */
export function archivePassphrase(environment: NodeJS.ProcessEnv): SecretValue {
  const value = environment[PASSPHRASE_VARIABLE];
  if (value === undefined || value.length < MIN_PASSPHRASE_LENGTH) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `${PASSPHRASE_VARIABLE} ${value === undefined ? 'is not set' : `is ${value.length} characters long`}: expected the archive's passphrase, at least ${MIN_PASSPHRASE_LENGTH} characters, ` +
        'in the environment (from your secret store; never on the command line)',
    );
  }
  return new SecretValue(value);
}

/** SHA-256 over every file's path and hash, in path order. */
export function fileSetChecksum(files: ReadonlyMap<string, Buffer>): string {
  const lines = [...files.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([path, bytes]) => `${path}\0${sha256(bytes)}\n`);
  return sha256(Buffer.from(lines.join('')));
}

export async function sealArchive(env: string, files: ReadonlyMap<string, Buffer>, passphrase: SecretValue, createdAt: Date): Promise<Buffer> {
  const payload = {
    format: ARCHIVE_FORMAT,
    env,
    createdAt: createdAt.toISOString(),
    checksum: fileSetChecksum(files),
    files: Object.fromEntries([...files.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([path, bytes]) => [path, { sha256: sha256(bytes), base64: bytes.toString('base64') }])),
  };
  const message = await openpgp.createMessage({ binary: Buffer.from(JSON.stringify(payload)), format: 'binary' });
  const encrypted = await openpgp.encrypt({
    message,
    passwords: [passphrase.reveal()],
    format: 'binary',
    config: { aeadProtect: false, preferredSymmetricAlgorithm: openpgp.enums.symmetric.aes256, s2kType: openpgp.enums.s2k.iterated },
  });
  return Buffer.from(encrypted);
}

/** The files of an archive, after decryption (the passphrase), the integrity check and every file's SHA-256. */
export async function openArchive(path: string, bytes: Buffer, passphrase: SecretValue, env: string): Promise<Map<string, Buffer>> {
  let plain: Uint8Array;
  try {
    const message = await openpgp.readMessage({ binaryMessage: bytes });
    plain = (await openpgp.decrypt({ message, passwords: [passphrase.reveal()], format: 'binary', config: { allowUnauthenticatedMessages: false } })).data as Uint8Array;
  } catch (error) {
    throw invalid(path, `it does not decrypt with the passphrase in ${PASSPHRASE_VARIABLE}, or it is not an OpenPGP message, or it was damaged (${(error as Error).message})`);
  }
  let payload: z.output<typeof payloadSchema>;
  try {
    const parsed = payloadSchema.safeParse(JSON.parse(Buffer.from(plain).toString('utf8')));
    if (!parsed.success) throw new Error(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
    payload = parsed.data;
  } catch (error) {
    throw invalid(path, `it is not a ${ARCHIVE_FORMAT} archive (${(error as Error).message})`);
  }
  if (payload.env !== env) throw invalid(path, `it holds the state of environment "${payload.env}", not "${env}"`);
  const files = new Map<string, Buffer>();
  for (const [file, entry] of Object.entries(payload.files)) {
    const content = Buffer.from(entry.base64, 'base64');
    if (sha256(content) !== entry.sha256) throw invalid(path, `${file} does not match its SHA-256`);
    files.set(file, content);
  }
  if (fileSetChecksum(files) !== payload.checksum) throw invalid(path, 'its file set does not match its checksum');
  return files;
}

function invalid(path: string, why: string): StateError {
  return new StateError('STATE_ARCHIVE_INVALID', `archive ${path} cannot be imported: ${why}; nothing was changed`);
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
