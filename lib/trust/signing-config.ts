import type { SigstoreConfig } from '../config/schema';
import { serviceUrls } from '../config/service-urls';
import { transparencyLogs } from './transparency-logs';
import { timestamp, trustHistoryOf, type PublicTrustMaterial } from './trusted-root';

/** sigstore/protobuf-specs SigningConfig v0.2: where clients sign (CA, OIDC, Rekor, TSA). */
export const SIGNING_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.signingconfig.v0.2+json';

/** Fulcio, the TSA and OIDC speak API v1; Rekor's version is the configured one (`logs.rekor`). */
const MAJOR_API_VERSION = 1;

interface ServiceJson {
  url: string;
  majorApiVersion: number;
  validFor: { start: string; end?: string };
  operator: string;
}

/** proto3 JSON of sigstore.trustroot.v1.SigningConfig. */
export interface SigningConfigJson {
  mediaType: string;
  caUrls: ServiceJson[];
  oidcUrls: ServiceJson[];
  rekorTlogUrls: ServiceJson[];
  tsaUrls: ServiceJson[];
  /** sigstore-js signs only with selector ANY (packages/sign/src/config.ts). */
  rekorTlogConfig: { selector: 'ANY' };
  tsaConfig: { selector: 'ANY' };
}

/**
 * Builds `signing_config.v0.2.json` from the configured service URLs: Fulcio, every OIDC issuer the
 * configuration trusts (global ones first, then each tenant's, without duplicates), Rekor and the TSA.
 * Each service is valid from when its first key or certificate generation was minted (a rotation
 * keeps the URL, so the signing config does not change with it); the operator is the organization. Deterministic: the same material and configuration give the same bytes.
 */
export function buildSigningConfig(material: PublicTrustMaterial, config: SigstoreConfig): SigningConfigJson {
  const urls = serviceUrls(config);
  const operator = config.organization;
  const logs = transparencyLogs(material, config);
  const rekor = logs.rekor;
  const service = (url: string, start: Date, majorApiVersion = MAJOR_API_VERSION, end?: Date): ServiceJson => ({
    url,
    majorApiVersion,
    validFor: { start: timestamp(start), ...(end ? { end: timestamp(end) } : {}) },
    operator,
  });
  const history = trustHistoryOf(material);
  const fulcioStart = history.fulcioIntermediates[0].certificate.notBefore;
  const issuers = [...config.oidc.issuers, ...config.oidc.tenants.flatMap((tenant) => tenant.issuers)].map((issuer) => issuer.url);
  return {
    mediaType: SIGNING_CONFIG_MEDIA_TYPE,
    caUrls: [service(urls.fulcio, fulcioStart)],
    oidcUrls: [...new Set(issuers)].map((url) => service(url, fulcioStart)),
    // Rekor v2 (rekor-tiles) is `majorApiVersion: 2`: clients then sign through /api/v2 and need the TSA.
    // After `rotate rekor-log` both: Rekor v1 until the cut-over, Rekor v2 from it (clients pick by validFor).
    rekorTlogUrls: logs.migrated.rekor
      ? [
          service(urls.rekor, history.rekorKeys[0].createdAt, MAJOR_API_VERSION, logs.migrated.rekor.activeFrom),
          service(rekor.baseUrl, logs.migrated.rekor.activeFrom, rekor.majorApiVersion),
        ]
      : [rekor.origin ? service(rekor.baseUrl, rekor.createdAt, rekor.majorApiVersion) : service(urls.rekor, history.rekorKeys[0].createdAt)],
    tsaUrls: [service(urls.tsa, history.tsaLeaves[0].certificate.notBefore)],
    rekorTlogConfig: { selector: 'ANY' },
    tsaConfig: { selector: 'ANY' },
  };
}

export function serializeSigningConfig(signingConfig: SigningConfigJson): string {
  return `${JSON.stringify(signingConfig, null, 2)}\n`;
}

/** A Rekor a client signs with: its base URL and major API version (1: Rekor v1, 2: rekor-tiles). */
export interface RekorService {
  readonly url: string;
  readonly majorApiVersion: number;
}

/**
 * The Rekor of `signingConfig` valid at `at` (validFor start ≤ at < end), the latest-starting one when
 * several are: after `rotate rekor-log`, Rekor v1 until the cut-over and Rekor v2 from it. Undefined
 * when none is valid at `at` (a clock before every start). Stricter than sigstore-js 4.1.1, which
 * drops only ended services and then takes the latest start, even one still in the future
 * (@sigstore/sign dist/config.js `sortServicesByStartDate`).
 */
export function rekorServiceAt(signingConfig: Pick<SigningConfigJson, 'rekorTlogUrls'>, at: Date): RekorService | undefined {
  const valid = signingConfig.rekorTlogUrls.filter(
    (service) => Date.parse(service.validFor.start) <= at.getTime() && (service.validFor.end === undefined || at.getTime() < Date.parse(service.validFor.end)),
  );
  const latest = valid.sort((a, b) => Date.parse(b.validFor.start) - Date.parse(a.validFor.start))[0];
  return latest && { url: latest.url, majorApiVersion: latest.majorApiVersion };
}
