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

export type ConfigErrorCode = 'CONFIG_NOT_FOUND' | 'CONFIG_UNREADABLE' | 'CONFIG_TOO_LARGE' | 'CONFIG_INVALID' | 'ENV_NAME_INVALID' | 'CONFIG_OTC_MISSING';

/** The environment file is missing, too large, is not YAML, or does not match the schema. Exit code 2. */
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
  | 'STATE_MISSING_ROOTS'
  /** `rotate`: the item has a generation whose cut-over is still ahead (one planned rotation at a time). */
  | 'STATE_ROTATION_PENDING'
  /** This run's lock was taken over (it was judged stale): the run stops before it writes anything. */
  | 'STATE_LOCK_LOST'
  /** Another run committed the state after this run loaded it: nothing is written over the newer state. */
  | 'STATE_CONFLICT'
  /** The state must be written but its file system is mounted read-only (EROFS). */
  | 'STATE_READ_ONLY'
  /** The state must be written (or read) but this user may not (EACCES, EPERM). */
  | 'STATE_PERMISSION_DENIED'
  /** The file system of the state is full (ENOSPC, EDQUOT). */
  | 'STATE_NO_SPACE'
  /** Any other file system failure on the state (EIO, ELOOP, EMFILE, …), named by its errno. */
  | 'STATE_IO_ERROR'
  /** A published state lacks an item: corruption, restored from a backup, never minted again. */
  | 'STATE_PUBLISHED_ITEMS_MISSING'
  /** A published environment's `logs` now selects a tile-based log it did not publish: a migration sigstore-cdk does not do yet. */
  | 'STATE_LOG_SWITCH_UNSUPPORTED'
  /** A root certificate or TUF root is not signed by, or does not carry, the key pinned at mint time. */
  | 'STATE_ROOT_KEY_MISMATCH'
  /** The state would replace a key or certificate a TUF targets version published. */
  | 'STATE_PUBLISHED_TRUST_REPLACED'
  /** The ceremony log is not the hash chain the manifest vouches for, or misses a root-key signature. */
  | 'STATE_CEREMONY_LOG_INVALID'
  /** The state was written in an older format (v1); `sigstore-cdk state upgrade` converts it. */
  | 'STATE_FORMAT_OUTDATED'
  /** The remote state moved since this working copy was pulled: a push would lose the other update. */
  | 'STATE_REMOTE_CHANGED'
  /** The remote holds a state and the local one is missing or not derived from it: nothing is minted. */
  | 'STATE_REMOTE_DIVERGED'
  /** The working copy has changes the remote does not have: a pull would discard them. */
  | 'STATE_LOCAL_UNPUSHED'
  /** Another machine holds the remote state lock (its owner, host and time are named). */
  | 'STATE_REMOTE_LOCKED'
  /** This run's remote lock expired or was taken over: it stops before the remote is changed. */
  | 'STATE_REMOTE_LOCK_LOST'
  /** The remote state does not match what its head lists and hashes. */
  | 'STATE_REMOTE_CORRUPT'
  /** The remote holds no state (nothing to pull). */
  | 'STATE_REMOTE_EMPTY'
  /** The state bucket is unversioned, public, or missing. */
  | 'STATE_REMOTE_BUCKET_UNSAFE'
  /** An OBS request failed (credentials, permissions, network); the message names the operation and status. */
  | 'STATE_REMOTE_UNAVAILABLE'
  /** An export archive is unreadable, damaged, for another environment, or was sealed with another passphrase. */
  | 'STATE_ARCHIVE_INVALID'
  /** `state import` found a state already there (import restores onto an empty working copy only). */
  | 'STATE_NOT_EMPTY';

/** The state directory is corrupt, partial, locked, or does not fit the configuration. Exit code 3. */
export class StateError extends SigstoreCdkError<StateErrorCode> {
  readonly exitCode = 3;
}

export type FileSystemErrorCode =
  /** A path that must be a directory (an option such as `--state-dir` or `--out`, or one of its parents) is a file. Exit code 2. */
  | 'FS_NOT_A_DIRECTORY'
  /** An output directory is on a read-only file system (EROFS). Exit code 2: choose another one. */
  | 'FS_READ_ONLY'
  /** An output directory cannot be written by this user (EACCES, EPERM). Exit code 2. */
  | 'FS_PERMISSION_DENIED'
  /** A path is longer than the system allows (ENAMETOOLONG). Exit code 2. */
  | 'FS_NAME_TOO_LONG'
  /** The file system of an output is full (ENOSPC, EDQUOT). Exit code 1. */
  | 'FS_NO_SPACE'
  /** Any other file system failure, named by its errno. Exit code 1. */
  | 'FS_IO_ERROR';

/**
 * A file system call failed outside the state (an output directory, or an error no command mapped):
 * the message names the path, the errno and what to do. Failures on the state are StateErrors (exit
 * code 3); `lib/fs-errors.ts` makes both. The exit code is 2 when a path given as an argument cannot
 * be used (a file where a directory belongs, a read-only or unwritable place), else 1.
 */
export class FileSystemError extends SigstoreCdkError<FileSystemErrorCode> {
  constructor(
    code: FileSystemErrorCode,
    message: string,
    readonly exitCode: number,
    /** The path the failing call was given, and its errno (e.g. `EROFS`). */
    readonly details: { readonly path?: string; readonly errno?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export type SignerErrorCode = 'SIGNATURE_INVALID' | 'SIGNER_KEY_UNSUPPORTED';

/** A signer could not produce a valid signature. Exit code 4. */
export class SignerError extends SigstoreCdkError<SignerErrorCode> {
  readonly exitCode = 4;
}

export type CloudErrorCode = 'CLOUD_PROPS_INVALID';

/** The cloud stack cannot be built from its props (a construct names its path and the bad value). Exit code 2. */
export class CloudError extends SigstoreCdkError<CloudErrorCode> {
  readonly exitCode = 2;
}

export type TufErrorCode = 'TUF_REPOSITORY_MISSING' | 'TUF_REPOSITORY_INVALID' | 'TUF_ROOT_KEY_MISMATCH' | 'TUF_TARGETS_STALE';

/** The TUF repository in the state is missing, inconsistent, signed by another root key, or its targets are not the configuration's (run tuf refresh). Exit code 3 (a state problem). */
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

export type OtcErrorCode =
  /** No usable credentials in the environment (OS_ACCESS_KEY/OS_SECRET_KEY or OS_USERNAME/OS_PASSWORD/OS_USER_DOMAIN_NAME). */
  | 'OTC_CREDENTIALS_MISSING'
  /** No project id: neither `otc.projectId` nor OS_PROJECT_ID. */
  | 'OTC_PROJECT_MISSING'
  /** IAM or KMS refused the credentials, the token or the AK/SK signature. */
  | 'OTC_AUTH_FAILED'
  /** The identity is authenticated but lacks a KMS permission, or the account is frozen. */
  | 'OTC_PERMISSION_DENIED'
  /** HTTP 429 on every attempt. */
  | 'OTC_THROTTLED'
  /** HTTP 5xx on every attempt. */
  | 'OTC_UNAVAILABLE'
  /** No answer within the request timeout, on every attempt. */
  | 'OTC_TIMEOUT'
  /** The endpoint could not be reached (DNS, connection refused, TLS). */
  | 'OTC_UNREACHABLE'
  /** The endpoint answered with a redirect (3xx): it is the wrong endpoint. Not followed. Exit code 2 (configuration). */
  | 'OTC_ENDPOINT_REDIRECTED'
  /** An answer that does not match the documented API (not JSON, fields missing). */
  | 'OTC_RESPONSE_INVALID'
  /** KMS rejected the request as malformed (a bug here, or an API change). */
  | 'KMS_REQUEST_REJECTED'
  /** No key with the alias or id. */
  | 'KMS_KEY_NOT_FOUND'
  /** The key exists but cannot serve as a root key: wrong spec, usage or state. */
  | 'KMS_KEY_UNUSABLE'
  /** The alias is taken (possibly by a key pending deletion). */
  | 'KMS_ALIAS_TAKEN'
  /** The project's key quota is used up. */
  | 'KMS_QUOTA_EXCEEDED'
  /** KMS would not decrypt the state's data key: another key, or a cipher text that was changed (the passwords stay sealed). */
  | 'KMS_DATA_KEY_REFUSED';

/** OTC errors that are configuration errors found by talking to OTC (exit code 2, not 4). */
const OTC_CONFIGURATION_ERRORS: ReadonlySet<OtcErrorCode> = new Set(['OTC_ENDPOINT_REDIRECTED']);

/**
 * Open Telekom Cloud (IAM, DEW KMS) failed or refused. Exit code 4 (a signer failure), or 2 for a
 * configuration error such as an endpoint that redirects. Messages name the operation, the HTTP
 * status, the KMS error code and what the operator can do; never a credential.
 */
export class OtcError extends SigstoreCdkError<OtcErrorCode> {
  readonly exitCode: number;
  constructor(
    code: OtcErrorCode,
    message: string,
    readonly details: {
      /** The API called, e.g. `kms sign`. */
      readonly operation?: string;
      readonly httpStatus?: number;
      /** The service's error code, e.g. `KMS.0329`. */
      readonly serviceCode?: string;
      /** The request id the service returned (X-Request-Id), for support tickets. */
      readonly requestId?: string;
    } = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.exitCode = OTC_CONFIGURATION_ERRORS.has(code) ? 2 : 4;
  }
}

export type ChartErrorCode = 'CHART_PROPS_INVALID' | 'CHART_CONFIGMAP_TOO_LARGE' | 'CHART_OIDC_UNSUPPORTED';

/**
 * The cluster chart cannot be built from what it was given (a construct prop, or the configuration it
 * was derived from). The message names the construct path, the prop and the value. Exit code 2.
 */
export class ChartError extends SigstoreCdkError<ChartErrorCode> {
  readonly exitCode = 2;
}

export type OutputErrorCode =
  /** The state, the environment files, the project root, or a directory above one of them. */
  | 'OUTPUT_DIR_PROTECTED'
  /** A directory holding files sigstore-cdk did not write, a file, or another kind of output. */
  | 'OUTPUT_DIR_FOREIGN';

/**
 * An output directory (`--out`, `--cloud-out`, the cdk8s app's `dist/`) that synth may not write:
 * it is refused before anything is minted or written. The message names the option, the directory
 * and why. Exit code 2 (an invalid argument).
 */
export class OutputError extends SigstoreCdkError<OutputErrorCode> {
  readonly exitCode = 2;
}

export type SmokeErrorCode = 'SMOKE_TUF_FAILED' | 'SMOKE_FULCIO_FAILED' | 'SMOKE_TSA_FAILED' | 'SMOKE_REKOR_FAILED' | 'SMOKE_VERIFY_FAILED';

/** `sigstore-cdk smoke`: a deployed component failed (the code names it). Exit code 6. */
export class SmokeError extends SigstoreCdkError<SmokeErrorCode> {
  readonly exitCode = 6;
  constructor(
    code: SmokeErrorCode,
    message: string,
    /** The steps run so far, with their timings. */
    readonly result?: unknown,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export type CloudToolErrorCode = 'CLOUD_STACK_MISSING' | 'CLOUD_TOFU_MISSING' | 'CLOUD_TOFU_FAILED';

/**
 * `sigstore-cdk cloud init|plan|apply`: the stack was not synthesized, OpenTofu is not installed
 * (exit 2: nothing ran), or tofu failed (exit 4: OTC or the provider refused; tofu printed why).
 */
export class CloudToolError extends SigstoreCdkError<CloudToolErrorCode> {
  readonly exitCode: number;
  constructor(code: CloudToolErrorCode, message: string) {
    super(code, message);
    this.exitCode = code === 'CLOUD_TOFU_FAILED' ? 4 : 2;
  }
}
