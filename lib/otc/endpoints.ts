/** The OTC regions the configuration accepts. */
export type OtcRegion = 'eu-de' | 'eu-nl' | 'eu-ch2';

/** Domain of a region's public endpoints (the Swiss cloud has its own). */
function regionDomain(region: OtcRegion): string {
  return region === 'eu-ch2' ? `${region}.sc.otc.t-systems.com` : `${region}.otc.t-systems.com`;
}

/** The IAM endpoint (without `/v3`); eu-de and eu-nl share the global IAM of eu-de. */
export function defaultIamEndpoint(region: OtcRegion): string {
  return region === 'eu-ch2' ? 'https://iam-pub.eu-ch2.sc.otc.t-systems.com' : 'https://iam.eu-de.otc.t-systems.com';
}

/** The DEW KMS endpoint of a region. */
export function defaultKmsEndpoint(region: OtcRegion): string {
  return `https://kms.${regionDomain(region)}`;
}

/** The provider's `auth_url`: the IAM v3 API. */
export function iamAuthUrl(iamEndpoint: string): string {
  const base = iamEndpoint.replace(/\/+$/, '');
  return base.endsWith('/v3') ? base : `${base}/v3`;
}

/** The OBS endpoint of a region, also its S3-compatible API. */
export function obsEndpoint(region: OtcRegion): string {
  return `https://obs.${regionDomain(region)}`;
}
