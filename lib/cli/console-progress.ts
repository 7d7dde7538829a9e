import type { Progress } from '../progress';

/** Progress lines on stderr (stdout stays free for `--json`). */
export class ConsoleProgress implements Progress {
  constructor(private readonly stream: NodeJS.WritableStream = process.stderr) {}

  async step<T>(label: string, work: () => Promise<T>): Promise<T> {
    // process.hrtime, not performance.now(): the global `performance` loads perf_hooks and its nine
    // internal modules on first use (~1 ms of every run).
    const started = process.hrtime.bigint();
    try {
      const result = await work();
      this.stream.write(`  ✓ ${label} (${Math.round(Number(process.hrtime.bigint() - started) / 1e6)} ms)\n`);
      return result;
    } catch (error) {
      this.stream.write(`  ✗ ${label}\n`);
      throw error;
    }
  }

  info(message: string): void {
    this.stream.write(`${message}\n`);
  }

  warn(message: string): void {
    this.stream.write(`warning: ${message}\n`);
  }
}
