import { DataOpentelekomcloudIdentityAuthScopeV3 } from '@cdktf/provider-opentelekomcloud/lib/data-opentelekomcloud-identity-auth-scope-v3';
import { IdentityGroupV3 } from '@cdktf/provider-opentelekomcloud/lib/identity-group-v3';
import { IdentityRoleAssignmentV3 } from '@cdktf/provider-opentelekomcloud/lib/identity-role-assignment-v3';
import { IdentityRoleV3 } from '@cdktf/provider-opentelekomcloud/lib/identity-role-v3';
import { Construct } from 'constructs';
import { LOGICAL_IDS, withLogicalId } from './addresses';
import { invalidProps } from './invalid-props';

export interface RefreshIdentityProps {
  /** Names of the group and roles start with it. */
  readonly namePrefix: string;
  /** The bucket of the remote state. */
  readonly bucketName: string;
  /** The environment's state prefix in the bucket, e.g. `sigstore-state/prd/`. */
  readonly statePrefix: string;
  /** Id of the bucket's SSE-KMS key (a token of the stack). */
  readonly bucketKeyId: string;
  /**
   * Id of the state key (a token of the stack): the refresh opens the state's sealed passwords (the
   * online TUF keys') with one decrypt-datakey under it. @default - no state key (a local-signer state keeps plaintext passwords)
   */
  readonly stateKeyId?: string;
}

/** One statement of an OTC IAM custom policy (policy language version 1.1). */
export interface IamStatement {
  readonly effect: 'Allow';
  readonly action: readonly string[];
  readonly resource?: readonly string[];
}

/**
 * The identity that runs the weekly `tuf refresh` (a CI job, see the README "Weekly refresh"): an IAM
 * group with two custom roles and nothing else. Add the refresh user (with its own AK/SK) to the group.
 *
 * - OBS (domain-level role): read the bucket's versioning, ACL and policy (the state refuses an unsafe
 *   bucket), list the bucket, and get, put and delete objects under the environment's state prefix only
 *   (objects, head, lock claims). Nothing else in the bucket: not the CTS traces, not the MySQL dumps.
 * - KMS (project-level role): the data-key operations SSE-KMS performs on the bucket's own key
 *   (reference: OBS least-privilege SSE-KMS, kms:cmk:list/get, and on the key kms:cmk:generate,
 *   kms:dek:create, kms:cmk:crypto, kms:dek:crypto).
 *
 * - KMS, the state key (otc-kms environments): `kms:dek:crypto` on the key that wraps the state's data
 *   key, for the one decrypt-datakey that opens the online TUF keys' sealed passwords. Not create: the
 *   data key exists from the ceremony on.
 *
 * No root key: a refresh re-signs the timestamp, snapshot and targets roles with the online TUF keys,
 * which live in the state; only a due TUF root needs the TUF root key's KMS sign, and that is a
 * ceremony run by the ceremony identity, not by this one (the refresh then fails with a KMS
 * permission error, which says so).
 */
export class RefreshIdentity extends Construct {
  readonly group: IdentityGroupV3;
  readonly obsStatements: readonly IamStatement[];
  readonly kmsStatements: readonly IamStatement[];

  constructor(scope: Construct, id: string, props: RefreshIdentityProps) {
    super(scope, id);
    if (!props.statePrefix.endsWith('/')) invalidProps(this, 'statePrefix', props.statePrefix, 'a key prefix ending in "/"');
    const scopeData = withLogicalId(new DataOpentelekomcloudIdentityAuthScopeV3(this, 'AuthScope', { name: 'current' }), LOGICAL_IDS.authScope);
    this.group = withLogicalId(
      new IdentityGroupV3(this, 'Group', { name: `${props.namePrefix}-tuf-refresh`, description: 'Runs the weekly sigstore-cdk tuf refresh: the remote state only, no root key' }),
      LOGICAL_IDS.refreshGroup,
    );
    this.obsStatements = [
      {
        effect: 'Allow',
        action: ['obs:bucket:ListBucket', 'obs:bucket:GetBucketVersioning', 'obs:bucket:GetBucketAcl', 'obs:bucket:GetBucketPolicy'],
        resource: [`OBS:*:*:bucket:${props.bucketName}`],
      },
      {
        effect: 'Allow',
        action: ['obs:object:GetObject', 'obs:object:PutObject', 'obs:object:DeleteObject'],
        resource: [`OBS:*:*:object:${props.bucketName}/${props.statePrefix}*`],
      },
    ];
    this.kmsStatements = [
      { effect: 'Allow', action: ['kms:cmk:list', 'kms:cmk:get'] },
      {
        effect: 'Allow',
        action: ['kms:cmk:generate', 'kms:dek:create', 'kms:cmk:crypto', 'kms:dek:crypto'],
        resource: [`KMS:*:*:KeyId:${props.bucketKeyId}`],
      },
      ...(props.stateKeyId ? [{ effect: 'Allow' as const, action: ['kms:dek:crypto'], resource: [`KMS:*:*:KeyId:${props.stateKeyId}`] }] : []),
    ];
    const role = (roleId: string, layer: 'domain' | 'project', what: string, statements: readonly IamStatement[]) =>
      withLogicalId(
        new IdentityRoleV3(this, `Role-${layer}`, {
          displayName: `${props.namePrefix}-tuf-refresh-${layer === 'domain' ? 'obs' : 'kms'}`,
          description: `sigstore-cdk weekly refresh: ${what}`,
          displayLayer: layer,
          statement: statements.map((statement) => ({ effect: statement.effect, action: [...statement.action], ...(statement.resource ? { resource: [...statement.resource] } : {}) })),
        }),
        roleId,
      );
    const obsRole = role(LOGICAL_IDS.refreshObs, 'domain', `the remote state under ${props.bucketName}/${props.statePrefix}`, this.obsStatements);
    const kmsRole = role(LOGICAL_IDS.refreshKms, 'project', props.stateKeyId ? 'SSE-KMS data keys of the bootstrap bucket key, and decrypting the state\'s data key' : 'SSE-KMS data keys of the bootstrap bucket key only', this.kmsStatements);
    withLogicalId(new IdentityRoleAssignmentV3(this, 'ObsAssignment', { groupId: this.group.id, roleId: obsRole.id, domainId: scopeData.projectDomainId }), LOGICAL_IDS.refreshObs);
    withLogicalId(new IdentityRoleAssignmentV3(this, 'KmsAssignment', { groupId: this.group.id, roleId: kmsRole.id, projectId: scopeData.projectId }), LOGICAL_IDS.refreshKms);
  }
}
