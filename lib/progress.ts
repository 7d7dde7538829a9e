/** Where long-running work reports what it is doing. The CLI prints to stderr; tests stay silent. */
export interface Progress {
  /** Runs one step, named in the imperative (`mint fulcio-root`), and reports its outcome and duration. */
  step<T>(label: string, work: () => Promise<T>): Promise<T>;
  /** A line of information (never a secret). */
  info(message: string): void;
  /** Something the operator should look at, that does not stop the run. */
  warn(message: string): void;
}

export const silentProgress: Progress = {
  step: (_label, work) => work(),
  info: () => undefined,
  warn: () => undefined,
};
