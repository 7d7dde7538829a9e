import { KmsKeyV1 } from '@cdktf/provider-opentelekomcloud/lib/kms-key-v1';
import { ObsBucket } from '@cdktf/provider-opentelekomcloud/lib/obs-bucket';
import { ObsBucketPolicy } from '@cdktf/provider-opentelekomcloud/lib/obs-bucket-policy';
import { Construct } from 'constructs';
import { LOGICAL_IDS, withLogicalId } from './addresses';
import { invalidProps, wholeNumberIn } from './invalid-props';
import { kmsAliasProblem, obsBucketNameProblem, tagProblem } from './naming';

export interface BootstrapBucketProps {
  /** Globally unique OBS bucket name: 3-63 lowercase letters, digits and "-" (no dots: they break TLS). */
  readonly bucketName: string;
  /**
   * Alias of the bucket's symmetric SSE key. Put a generation in it: an alias stays taken while a
   * replaced key waits for deletion (terraform-provider-opentelekomcloud#1804).
   */
  readonly keyAlias: string;
  /** Days a noncurrent object version is kept before OBS deletes it. @default 365 */
  readonly noncurrentVersionExpirationDays?: number;
  /** Days after which OBS removes the parts of an unfinished multipart upload. @default 7 */
  readonly abortIncompleteUploadDays?: number;
  /** Days KMS waits before deleting the key once it is scheduled for deletion (7-1096). @default 30 */
  readonly keyPendingDeletionDays?: number;
  /** Tags on the bucket and the key. @default {} */
  readonly tags?: Readonly<Record<string, string>>;
}

/** The OBS bucket policy language (OBS-native syntax; the provider's obs_bucket_policy takes it). */
export interface ObsPolicyDocument {
  readonly Statement: readonly {
    readonly Sid: string;
    readonly Effect: 'Allow' | 'Deny';
    readonly Principal: { readonly ID: readonly string[] };
    readonly Action: readonly string[];
    readonly Resource: readonly string[];
    readonly Condition?: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
  }[];
}

/**
 * The bootstrap bucket: the durable home of the PKI state and the audit trail. Private ACL,
 * versioned (OBS can only suspend versioning once enabled, never drop it), encrypted server-side
 * with a symmetric KMS key the construct creates, a bucket policy that denies every request not made
 * over TLS, and a lifecycle rule that expires noncurrent versions. Bucket and key refuse
 * `tofu destroy` (`prevent_destroy`): losing either loses the state.
 */
export class BootstrapBucket extends Construct {
  readonly key: KmsKeyV1;
  readonly bucket: ObsBucket;
  readonly policy: ObsBucketPolicy;
  /** The policy attached to the bucket, as an object (it is written as JSON). */
  readonly policyDocument: ObsPolicyDocument;
  readonly bucketName: string;
  readonly noncurrentVersionExpirationDays: number;
  readonly abortIncompleteUploadDays: number;
  readonly keyPendingDeletionDays: number;

  constructor(scope: Construct, id: string, props: BootstrapBucketProps) {
    super(scope, id);
    const nameProblem = obsBucketNameProblem(props.bucketName);
    if (nameProblem) invalidProps(this, 'bucketName', props.bucketName, `an OBS bucket name that ${nameProblem}`);
    const aliasProblem = kmsAliasProblem(props.keyAlias);
    if (aliasProblem) invalidProps(this, 'keyAlias', props.keyAlias, `a KMS alias that ${aliasProblem}`);
    this.bucketName = props.bucketName;
    this.noncurrentVersionExpirationDays = wholeNumberIn(this, 'noncurrentVersionExpirationDays', props.noncurrentVersionExpirationDays ?? 365, 1, 36500);
    this.abortIncompleteUploadDays = wholeNumberIn(this, 'abortIncompleteUploadDays', props.abortIncompleteUploadDays ?? 7, 1, 36500);
    this.keyPendingDeletionDays = wholeNumberIn(this, 'keyPendingDeletionDays', props.keyPendingDeletionDays ?? 30, 7, 1096);
    const tags = { ...(props.tags ?? {}) };
    for (const [key, value] of Object.entries(tags)) {
      const problem = tagProblem(key, value);
      if (problem) invalidProps(this, `tags.${key}`, value, problem);
    }

    this.key = withLogicalId(
      new KmsKeyV1(this, 'Key', {
        keyAlias: props.keyAlias,
        keyDescription: `SSE-KMS key of the sigstore bootstrap bucket ${props.bucketName}`,
        isEnabled: true,
        rotationEnabled: true,
        rotationInterval: 365,
        pendingDays: String(this.keyPendingDeletionDays),
        // A key destroyed by mistake waits for deletion; applying again cancels that.
        allowCancelDeletion: true,
        tags,
        lifecycle: { preventDestroy: true },
      }),
      LOGICAL_IDS.bootstrap,
    );

    this.bucket = withLogicalId(
      new ObsBucket(this, 'Bucket', {
        bucket: props.bucketName,
        acl: 'private',
        storageClass: 'STANDARD',
        versioning: true,
        forceDestroy: false,
        serverSideEncryption: { algorithm: 'kms', kmsKeyId: this.key.id },
        lifecycleRule: [
          {
            name: 'expire-noncurrent-versions',
            enabled: true,
            noncurrentVersionExpiration: [{ days: this.noncurrentVersionExpirationDays }],
            abortIncompleteMultipartUpload: [{ days: this.abortIncompleteUploadDays }],
          },
        ],
        tags,
        lifecycle: { preventDestroy: true },
      }),
      LOGICAL_IDS.bootstrap,
    );

    this.policyDocument = {
      Statement: [
        {
          Sid: 'DenyInsecureTransport',
          Effect: 'Deny',
          Principal: { ID: ['*'] },
          Action: ['*'],
          Resource: [props.bucketName, `${props.bucketName}/*`],
          Condition: { Bool: { SecureTransport: ['false'] } },
        },
      ],
    };
    this.policy = withLogicalId(
      new ObsBucketPolicy(this, 'TlsOnlyPolicy', {
        // The reference (not the literal name) orders the policy after the bucket.
        bucket: this.bucket.bucket,
        policy: JSON.stringify(this.policyDocument),
      }),
      LOGICAL_IDS.bootstrap,
    );
  }
}
