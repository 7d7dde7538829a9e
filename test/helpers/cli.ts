import { runCli, type CliContext } from '../../lib/cli/main';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process with captured stdout and stderr. */
export async function runCliCaptured(args: string[], context?: CliContext): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const stream = (append: (text: string) => void) =>
    ({
      write: (chunk: string | Uint8Array) => {
        append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return true;
      },
    }) as unknown as NodeJS.WritableStream;
  const code = await runCli(args, { stdout: stream((text) => (stdout += text)), stderr: stream((text) => (stderr += text)) }, context);
  return { code, stdout, stderr };
}
