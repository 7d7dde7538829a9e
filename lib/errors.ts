/**
 * Typed errors with stable codes. Tests assert on `code`, operators read `message`.
 * Every message names what was wrong, the value found (never a secret) and what would be accepted.
 */
export abstract class SigstoreCdkError<Code extends string = string> extends Error {
  /** Process exit code the CLI uses for this class of failure. */
  abstract readonly exitCode: number;

  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One bad field of a configuration file. */
export interface ConfigProblem {
  /** Dotted path of the field, e.g. `services.fulcio.replicas`. */
  readonly path: string;
  /** What was wrong and what would be accepted. */
  readonly message: string;
  /** The value found, rendered for humans (`undefined` when the field is missing). */
  readonly value?: string;
}

export type ConfigErrorCode = 'CONFIG_NOT_FOUND' | 'CONFIG_UNREADABLE' | 'CONFIG_INVALID' | 'ENV_NAME_INVALID';

/** The environment file is missing, is not YAML, or does not match the schema. Exit code 2. */
export class ConfigError extends SigstoreCdkError<ConfigErrorCode> {
  readonly exitCode = 2;
  constructor(
    code: ConfigErrorCode,
    message: string,
    readonly problems: readonly ConfigProblem[] = [],
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export type StateErrorCode =
  | 'STATE_CORRUPT'
  | 'STATE_INCOMPLETE'
  | 'STATE_LOCKED'
  | 'STATE_INTERRUPTED'
  | 'STATE_SIGNER_MISMATCH'
  | 'STATE_MISSING_ROOTS';

/** The state directory is corrupt, partial, locked, or does not fit the configuration. Exit code 3. */
export class StateError extends SigstoreCdkError<StateErrorCode> {
  readonly exitCode = 3;
}

export type SignerErrorCode = 'SIGNER_UNAVAILABLE' | 'SIGNATURE_INVALID' | 'SIGNER_KEY_UNSUPPORTED';

/** A signer could not produce a valid signature. Exit code 4. */
export class SignerError extends SigstoreCdkError<SignerErrorCode> {
  readonly exitCode = 4;
}

export type PkiErrorCode = 'PKI_PROFILE_INVALID' | 'PKI_VALIDITY_INVALID';

/** A certificate could not be built as its profile requires. Exit code 1. */
export class PkiError extends SigstoreCdkError<PkiErrorCode> {
  readonly exitCode = 1;
}

export type CloudErrorCode = 'CLOUD_PROPS_INVALID';

/** The cloud stack cannot be built from its props (a construct names its path and the bad value). Exit code 2. */
export class CloudError extends SigstoreCdkError<CloudErrorCode> {
  readonly exitCode = 2;
}

export type TufErrorCode = 'TUF_REPOSITORY_MISSING' | 'TUF_REPOSITORY_INVALID' | 'TUF_ROOT_KEY_MISMATCH';

/** The TUF repository in the state is missing, inconsistent, or signed by another root key. Exit code 3 (a state problem). */
export class TufError extends SigstoreCdkError<TufErrorCode> {
  readonly exitCode = 3;
}

export type VerifyErrorCode = 'VERIFY_FAILED';

/** `sigstore-cdk verify` found a problem (an expired TUF role, stale or invalid metadata). Exit code 5. */
export class VerifyError extends SigstoreCdkError<VerifyErrorCode> {
  readonly exitCode = 5;
  constructor(
    code: VerifyErrorCode,
    message: string,
    /** The full report, printed with `--json`. */
    readonly result?: object,
  ) {
    super(code, message);
  }
}
