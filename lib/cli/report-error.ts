import { SigstoreCdkError, SmokeError, VerifyError } from '../errors';
import { unmappedFileSystemError } from '../fs-errors';
import { redactSecrets } from '../redaction';

/** Where an entry point reports a failure. */
export interface ErrorOutput {
  readonly stderr: NodeJS.WritableStream;
  /** With `--json`, the error also goes to stdout as `{ "error": { code, message } }`. @default - not printed */
  readonly jsonStdout?: NodeJS.WritableStream;
}

/**
 * Reports a failure the way every entry point does (the CLI, the cdk8s app, the cdktf app): one
 * `error [CODE]: message` line for a typed error (a file system error no command mapped is typed
 * here), redacted of every secret the process holds, and returns its exit code. Anything else is a
 * bug: one `error:` line and exit 1; its stack only with SIGSTORE_CDK_DEBUG=1.
 */
export function reportError(error: unknown, output: ErrorOutput): number {
  const write = (stream: NodeJS.WritableStream, text: string) => stream.write(redactSecrets(text));
  const debug = Boolean(process.env.SIGSTORE_CDK_DEBUG);
  const typed = error instanceof SigstoreCdkError ? error : unmappedFileSystemError(error);
  if (typed) {
    if (output.jsonStdout) {
      const result = typed instanceof VerifyError || typed instanceof SmokeError ? { result: typed.result } : {};
      write(output.jsonStdout, `${JSON.stringify({ error: { code: typed.code, message: typed.message }, ...result }, null, 2)}\n`);
    }
    write(output.stderr, `error [${typed.code}]: ${typed.message}\n`);
    if (debug && typed !== error) write(output.stderr, `${(error as Error).stack}\n`);
    return typed.exitCode;
  }
  write(output.stderr, `error: ${(error as Error)?.message ?? String(error)}\n`);
  write(output.stderr, debug ? `${(error as Error)?.stack}\n` : '(unexpected error; set SIGSTORE_CDK_DEBUG=1 for the stack trace)\n');
  return 1;
}
