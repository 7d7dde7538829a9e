import { StateError } from '../errors';
import type { ObsObjects } from './obs-objects';

/** Grantee groups that make a bucket public: everyone, or every authenticated OBS/S3 user. */
const PUBLIC_GROUPS = ['/AllUsers', '/AuthenticatedUsers', 'Everyone'];

/**
 * Refuses a bucket the state must not live in: versioning not enabled (a push would overwrite the only
 * copy of the head), an ACL granting anything to everyone or to every authenticated user, or a bucket
 * policy that allows a wildcard principal. The cloud stack's bootstrap bucket is private, versioned
 * and TLS-only (lib/cloud/bootstrap-bucket.ts); this catches a bucket changed by hand or another one.
 */
export async function expectSafeBucket(objects: ObsObjects): Promise<void> {
  const bucket = objects.location.bucket;
  const problems: string[] = [];
  const versioning = await objects.versioning();
  if (versioning !== 'Enabled') {
    problems.push(`versioning is ${versioning ? `"${versioning}"` : 'not enabled'}, expected "Enabled" (the state keeps its history in object versions)`);
  }
  const acl = await objects.acl();
  for (const grant of acl.Grants ?? []) {
    const group = grant.Grantee?.URI ?? grant.Grantee?.ID ?? '';
    if (PUBLIC_GROUPS.some((suffix) => group.endsWith(suffix))) problems.push(`its ACL grants ${grant.Permission ?? 'access'} to ${group}`);
  }
  const policyText = await objects.policy();
  if (policyText !== undefined) {
    for (const statement of policyStatements(policyText)) {
      if (statement.Effect === 'Allow' && isWildcardPrincipal(statement.Principal)) {
        problems.push(`its bucket policy statement ${statement.Sid ? `"${statement.Sid}" ` : ''}allows everyone ("*")`);
      }
    }
  }
  if (problems.length > 0) {
    throw new StateError(
      'STATE_REMOTE_BUCKET_UNSAFE',
      `refusing to keep the state in bucket ${bucket}: ${problems.join('; ')}. Nothing was read or written. ` +
        'Use the cloud stack\'s bootstrap bucket (private, versioned) or fix the bucket\'s settings',
    );
  }
}

interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect?: string;
  readonly Principal?: unknown;
}

function policyStatements(text: string): PolicyStatement[] {
  try {
    const policy = JSON.parse(text) as { Statement?: PolicyStatement | PolicyStatement[] };
    return Array.isArray(policy.Statement) ? policy.Statement : policy.Statement ? [policy.Statement] : [];
  } catch {
    // A policy we cannot read might allow anything.
    return [{ Sid: '(unparsable policy)', Effect: 'Allow', Principal: '*' }];
  }
}

/** `"*"`, `{"AWS": "*"}` (S3 syntax) or `{"ID": ["*"]}` (OBS syntax). */
function isWildcardPrincipal(principal: unknown): boolean {
  if (principal === '*') return true;
  if (principal && typeof principal === 'object') {
    return Object.values(principal as Record<string, unknown>).some((value) => value === '*' || (Array.isArray(value) && value.includes('*')));
  }
  return false;
}
