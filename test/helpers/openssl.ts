import { spawnSync } from 'node:child_process';

export interface OpensslResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the openssl binary (an implementation we did not write); never throws on a non-zero exit. */
export function openssl(args: readonly string[], options: { cwd?: string; input?: string | Buffer } = {}): OpensslResult {
  const input = typeof options.input === 'string' ? Buffer.from(options.input) : options.input;
  const result = spawnSync('openssl', args, { cwd: options.cwd, input });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout.toString('utf8'), stderr: result.stderr.toString('utf8') };
}

/** Like openssl(), but throws with openssl's stderr when it fails. */
export function opensslOk(args: readonly string[], options: { cwd?: string; input?: string | Buffer } = {}): string {
  const result = openssl(args, options);
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed (${result.status}):\n${result.stderr}`);
  return result.stdout;
}
