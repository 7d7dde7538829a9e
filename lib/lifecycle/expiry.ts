import type { Certificate } from '../pki/certificate';
import { addDuration, formatDuration } from '../config/duration';
import type { SigstoreConfig } from '../config/schema';
import { RENEW_BEFORE_FIELD, type RenewableItem } from './rotatable-items';

/**
 * `valid`; `due` (inside the item's `pki.renewBefore` window: rotate it); `expires-before-tuf-timestamp`
 * (clients holding the current TUF timestamp would see it expire before they look again); `expired`;
 * `cut-over-planned` (still in use, but a rotation planned its successor's cut-over no later than its
 * notAfter: renewed, neither due nor a problem); `superseded` (a later generation took over: kept only
 * to verify what it signed, never a problem).
 */
export type ItemExpiryStatus = 'valid' | 'due' | 'expires-before-tuf-timestamp' | 'expired' | 'cut-over-planned' | 'superseded';

/** One certificate, key or trusted_root.json entry with an end, as `verify --json` lists it. */
export interface ItemExpiry {
  readonly item: RenewableItem;
  /** The generation (1 is what bootstrap minted), for state items; trusted_root.json entries count in order of their start. */
  readonly generation: number;
  /** What was read: `certificate tsa/leaf.crt.pem` or `trusted_root.json timestampAuthorities[0].validFor`. */
  readonly source: string;
  /** UTC, whole seconds; null for a log key whose entry has no end. */
  readonly notAfter: string | null;
  /** Whole days left, rounded down (negative once expired); null without a notAfter. */
  readonly daysLeft: number | null;
  /** The item's renewal window (`pki.renewBefore`). */
  readonly renewBefore: string;
  /** Whether servers or clients use it now (false once a later generation superseded it). */
  readonly inUse: boolean;
  readonly status: ItemExpiryStatus;
}

/** A certificate of the state, with the item and generation it belongs to. */
export interface StateCertificate {
  readonly item: RenewableItem;
  readonly generation: number;
  /** State path of the certificate. */
  readonly path: string;
  readonly certificate: Certificate;
  /** False when a later generation of the item took over. */
  readonly inUse: boolean;
  /** The cut-over of the next generation, when a rotation planned one that has not come yet. @default - none */
  readonly successorFrom?: Date;
}

interface TimeRangeJson {
  readonly start?: string;
  readonly end?: string;
}

/** The parts of trusted_root.json (protobuf-specs JSON) whose `validFor` are checked. */
export interface TrustedRootValidity {
  readonly certificateAuthorities?: readonly { readonly validFor?: TimeRangeJson }[];
  readonly timestampAuthorities?: readonly { readonly validFor?: TimeRangeJson }[];
  readonly tlogs?: readonly { readonly publicKey?: { readonly validFor?: TimeRangeJson } }[];
  readonly ctlogs?: readonly { readonly publicKey?: { readonly validFor?: TimeRangeJson } }[];
}

export interface ExpiryInput {
  readonly certificates: readonly StateCertificate[];
  /** trusted_root.json as the current TUF targets publish it. */
  readonly trustedRoot: TrustedRootValidity;
  /** When the current TUF timestamp expires: clients may hold the trust material until then. */
  readonly tufTimestampExpires: Date;
  readonly config: SigstoreConfig;
  readonly now: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The expiry of every certificate of the state and every `validFor` in trusted_root.json, at `now`.
 * A trusted_root.json entry is in use unless a later entry of the same list (a later start) exists.
 */
export function expiryReport(input: ExpiryInput): ItemExpiry[] {
  const { config, now } = input;
  const judge = (item: RenewableItem, generation: number, source: string, notAfter: Date | undefined, inUse: boolean, successorFrom?: Date): ItemExpiry => {
    const renewBefore = config.pki.renewBefore[RENEW_BEFORE_FIELD[item]];
    return {
      item,
      generation,
      source,
      notAfter: notAfter ? wholeSeconds(notAfter) : null,
      daysLeft: notAfter ? Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS) : null,
      renewBefore: formatDuration(renewBefore),
      inUse,
      status: statusOf(notAfter, inUse, now, input.tufTimestampExpires, addDuration(now, renewBefore), successorFrom),
    };
  };
  const report = input.certificates.map((entry) =>
    judge(entry.item, entry.generation, `certificate ${entry.path}`, entry.certificate.notAfter, entry.inUse, entry.successorFrom),
  );
  const lists: { name: keyof TrustedRootValidity; item: RenewableItem; ranges: (TimeRangeJson | undefined)[] }[] = [
    { name: 'certificateAuthorities', item: 'fulcio-intermediate', ranges: (input.trustedRoot.certificateAuthorities ?? []).map((entry) => entry.validFor) },
    { name: 'timestampAuthorities', item: 'tsa-leaf', ranges: (input.trustedRoot.timestampAuthorities ?? []).map((entry) => entry.validFor) },
    { name: 'ctlogs', item: 'ctlog-key', ranges: (input.trustedRoot.ctlogs ?? []).map((entry) => entry.publicKey?.validFor) },
    { name: 'tlogs', item: 'rekor-key', ranges: (input.trustedRoot.tlogs ?? []).map((entry) => entry.publicKey?.validFor) },
  ];
  for (const { name, item, ranges } of lists) {
    const starts = ranges.map((range) => (range?.start ? new Date(range.start).getTime() : 0));
    const order = [...starts].sort((a, b) => a - b);
    ranges.forEach((range, index) => {
      const inUse = starts.every((start) => start <= starts[index]);
      const end = range?.end ? new Date(range.end) : undefined;
      report.push(judge(item, order.indexOf(starts[index]) + 1, `trusted_root.json ${name}[${index}].validFor`, end, inUse));
    });
  }
  return report;
}

function statusOf(notAfter: Date | undefined, inUse: boolean, now: Date, tufTimestampExpires: Date, windowEnd: Date, successorFrom?: Date): ItemExpiryStatus {
  if (!inUse) return 'superseded';
  if (!notAfter) return 'valid';
  if (now.getTime() >= notAfter.getTime()) return 'expired';
  // Servers switch to the next generation before this one ends: renewed (what rotate checks for a cut-over).
  if (successorFrom && successorFrom.getTime() <= notAfter.getTime()) return 'cut-over-planned';
  if (notAfter.getTime() <= tufTimestampExpires.getTime()) return 'expires-before-tuf-timestamp';
  if (windowEnd.getTime() >= notAfter.getTime()) return 'due';
  return 'valid';
}

/** What `verify` reports for each item in use that needs attention: problems (exit 5) and warnings. */
export function expiryFindings(report: readonly ItemExpiry[], env: string, tufTimestampExpires: Date): { problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const rotate = (item: RenewableItem) => `run "sigstore-cdk rotate ${item} --env ${env}"`;
  for (const entry of report) {
    const what = `${entry.item} g${entry.generation} (${entry.source})`;
    switch (entry.status) {
      case 'expired':
        problems.push(`${what} expired ${entry.notAfter}: clients refuse what it signs now; ${rotate(entry.item)}`);
        break;
      case 'expires-before-tuf-timestamp':
        // The default cut-over (now plus the TUF timestamp's expiry) would come after the expiry, which rotate refuses: name the latest one.
        problems.push(
          `${what} expires ${entry.notAfter}, before the TUF timestamp does (${wholeSeconds(tufTimestampExpires)}): clients holding it would trust an expired item; ` +
            `run "sigstore-cdk rotate ${entry.item} --env ${env} --at ${entry.notAfter}" (or an earlier cut-over)`,
        );
        break;
      case 'due':
        warnings.push(`${what} expires ${entry.notAfter} (in ${entry.daysLeft} days, inside its ${entry.renewBefore} renewal window); ${rotate(entry.item)}`);
        break;
      default:
        break;
    }
  }
  return { problems, warnings };
}

function wholeSeconds(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
