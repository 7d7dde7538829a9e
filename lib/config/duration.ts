/**
 * Validity periods in environment files: a positive whole number and a unit,
 * `h` (hours), `d` (days) or `y` (calendar years), e.g. `10y`, `90d`, `12h`.
 */
export interface Duration {
  readonly amount: number;
  readonly unit: 'h' | 'd' | 'y';
}

export const DURATION_PATTERN = /^([1-9][0-9]{0,4})(h|d|y)$/;
export const DURATION_HELP = 'a duration such as "10y", "90d" or "12h" (a whole number and h, d or y)';

/** Parses `10y`; returns undefined for anything else. */
export function parseDuration(text: string): Duration | undefined {
  const match = DURATION_PATTERN.exec(text);
  if (!match) return undefined;
  return { amount: Number(match[1]), unit: match[2] as Duration['unit'] };
}

export function formatDuration(duration: Duration): string {
  return `${duration.amount}${duration.unit}`;
}

/** Adds a duration to a date (calendar years for `y`), without mutating the input. */
export function addDuration(start: Date, duration: Duration): Date {
  const end = new Date(start.getTime());
  switch (duration.unit) {
    case 'h':
      end.setUTCHours(end.getUTCHours() + duration.amount);
      break;
    case 'd':
      end.setUTCDate(end.getUTCDate() + duration.amount);
      break;
    case 'y':
      end.setUTCFullYear(end.getUTCFullYear() + duration.amount);
      break;
  }
  return end;
}

/** Length of a duration in milliseconds, counted from the Unix epoch (a year is 365 or 366 days). For comparisons. */
export function durationMs(duration: Duration): number {
  return addDuration(new Date(0), duration).getTime();
}
