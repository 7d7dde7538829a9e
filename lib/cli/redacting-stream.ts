import { redactSecrets } from '../redaction';

/** Where the CLI writes: stdout or stderr, or a test's capture. */
export type OutputStream = NodeJS.WritableStream;

/**
 * A stream that writes through to `stream` with every secret the process registered replaced by
 * `[redacted]` (see lib/redaction.ts). The CLI writes whole lines or documents per call, so a secret
 * is never split across two writes. Wrapping twice is harmless.
 */
export function redactingStream(stream: OutputStream, redact: (text: string) => string = redactSecrets): OutputStream {
  const write = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return (stream.write as (chunk: string, ...rest: unknown[]) => boolean)(redact(text), ...rest);
  };
  return new Proxy(stream, {
    get: (target, property) => {
      if (property === 'write') return write;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
