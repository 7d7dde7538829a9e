import { OpentelekomcloudProvider } from '@cdktf/provider-opentelekomcloud/lib/provider';
import { TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import type { CloudConfig } from '../config/cloud-schema';
import { mirroredImageNames } from '../config/images';
import type { SigstoreConfig } from '../config/schema';
import { CloudError } from '../errors';
import { OUTPUT_IDS, withLogicalId } from './addresses';
import { Alarms } from './alarms';
import { AuditTrail } from './audit-trail';
import { BootstrapBucket } from './bootstrap-bucket';
import { ImageMirrors } from './image-mirrors';
import { swrRegionOfRegistry } from './naming';
import { defaultIamEndpoint, iamAuthUrl } from '../otc/endpoints';
import { RefreshIdentity } from './refresh-identity';
import { RootKeyLookup } from './root-key-lookup';
import { stateKeyAliasOf } from '../config/state-key-alias';
import { addStateBackend } from './state-backend';

/** A configuration that has what a cloud stack needs. */
export type CloudStackConfig = SigstoreConfig & { otc: NonNullable<SigstoreConfig['otc']>; cloud: CloudConfig };

export interface SigstoreCloudStackProps {
  /** The environment; it must have an `otc` and a `cloud` section. */
  readonly config: SigstoreConfig;
}

/**
 * Everything the Sigstore PKI needs from the OTC project of one environment: the bootstrap bucket
 * and its key, the root-key lookups, the audit trail, the alarms and the image mirrors. The stack is
 * named `sigstore-<env>`; every resource has a fixed Terraform name (see addresses.ts).
 */
export class SigstoreCloudStack extends TerraformStack {
  /** `sigstore-<env>`: the directory under `cdktf.out/stacks/` and the `cdktf deploy` argument. */
  static stackName(env: string): string {
    return `sigstore-${env}`;
  }

  /** Why an environment gets no cloud stack, or undefined when it gets one. */
  static reasonForNoStack(config: SigstoreConfig): string | undefined {
    if (config.cloud === undefined) return 'it has no cloud section';
    if (config.otc === undefined) return 'it has no otc section';
    return undefined;
  }

  readonly config: CloudStackConfig;
  readonly namePrefix: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly provider: OpentelekomcloudProvider;
  readonly bootstrapBucket: BootstrapBucket;
  readonly rootKeys: RootKeyLookup;
  readonly alarms: Alarms;
  readonly audit: AuditTrail;
  /** Absent when the environment has no mirror, or its registry is not OTC SWR. */
  readonly imageMirrors?: ImageMirrors;
  /** The weekly refresh identity's group and roles; only when the state lives in OBS (`state.backend: obs`). */
  readonly refreshIdentity?: RefreshIdentity;

  constructor(scope: Construct, props: SigstoreCloudStackProps) {
    super(scope, SigstoreCloudStack.stackName(props.config.env));
    const reason = SigstoreCloudStack.reasonForNoStack(props.config);
    if (reason) {
      throw new CloudError('CLOUD_PROPS_INVALID', `${this.node.path}: environment "${props.config.env}" cannot have a cloud stack: ${reason}`);
    }
    const config = props.config as CloudStackConfig;
    const { otc, cloud, env } = config;
    this.config = config;
    this.namePrefix = cloud.namePrefix ?? `sigstore-${env}`;
    this.tags = { 'managed-by': 'sigstore-cdk', 'sigstore-env': env, ...cloud.tags };

    // Credentials come from the usual OS_* variables (OS_ACCESS_KEY/OS_SECRET_KEY, or
    // OS_USERNAME/OS_PASSWORD/OS_DOMAIN_NAME; OS_PROJECT_ID when projectId is not configured).
    this.provider = new OpentelekomcloudProvider(this, 'opentelekomcloud', {
      authUrl: iamAuthUrl(otc.endpoints.iam ?? defaultIamEndpoint(otc.region)),
      region: otc.region,
      ...(otc.projectId ? { tenantId: otc.projectId } : {}),
    });
    addStateBackend(this, this.node.id, env, otc.region, cloud.stateBackend);

    this.bootstrapBucket = new BootstrapBucket(this, 'BootstrapBucket', {
      bucketName: cloud.bootstrapBucket.name,
      keyAlias: `${this.namePrefix}-bootstrap-g${cloud.bootstrapBucket.keyGeneration}`,
      noncurrentVersionExpirationDays: cloud.bootstrapBucket.noncurrentVersionExpirationDays,
      tags: this.tags,
    });

    this.rootKeys = new RootKeyLookup(this, 'RootKeys', {
      fulcioRootKeyAlias: otc.kms.fulcioRootKeyAlias,
      tsaRootKeyAlias: otc.kms.tsaRootKeyAlias,
      tufRootKeyAlias: otc.kms.tufRootKeyAlias,
      additionalTufRootKeyAliases: (config.tuf.root.keys ?? []).flatMap((key) => (key.kmsAlias === undefined ? [] : [key.kmsAlias])),
      ...(config.signer === 'otc-kms' ? { stateKeyAlias: stateKeyAliasOf(config) } : {}),
    });

    const alarms = cloud.alarms;
    this.alarms = new Alarms(this, 'Alarms', {
      namePrefix: this.namePrefix,
      environment: env,
      subscriptions: alarms.subscriptions,
      loadBalancer: alarms.loadBalancerId
        ? { id: alarms.loadBalancerId, fulcioListenerId: alarms.fulcioListenerId, tsaListenerId: alarms.tsaListenerId }
        : undefined,
      fulcioErrorsPerMinute: alarms.fulcioErrorsPerMinute,
      tsaLatencyMs: alarms.tsaLatencyMs,
      tags: this.tags,
    });

    this.audit = new AuditTrail(this, 'Audit', {
      region: otc.region,
      bucketName: this.bootstrapBucket.bucket.bucket,
      tracePrefix: cloud.audit.tracePrefix,
      manageTracker: cloud.audit.manageTracker,
      topicUrn: this.alarms.topic.topicUrn,
      notificationName: `${this.namePrefix.replace(/-/g, '_')}_kms_key_lifecycle`,
      // Trace files only arrive once the bucket refuses plain HTTP.
      trackerDependsOn: [this.bootstrapBucket.policy],
    });

    const mirror = config.images.mirror;
    if (mirror && swrRegionOfRegistry(mirror.registry) !== undefined) {
      this.imageMirrors = new ImageMirrors(this, 'ImageMirrors', { organization: mirror.organization, imageNames: mirroredImageNames() });
    }

    if (config.state.backend === 'obs') {
      this.refreshIdentity = new RefreshIdentity(this, 'RefreshIdentity', {
        namePrefix: this.namePrefix,
        bucketName: config.state.bucket ?? cloud.bootstrapBucket.name,
        statePrefix: `${config.state.prefix}/${env}/`,
        bucketKeyId: this.bootstrapBucket.key.id,
        ...(this.rootKeys.stateKey ? { stateKeyId: this.rootKeys.stateKey.id } : {}),
      });
    }
    const output = (id: string, value: string, description: string) =>
      withLogicalId(new TerraformOutput(this, id, { value, description }), id);
    output(OUTPUT_IDS.bootstrapBucket, this.bootstrapBucket.bucket.bucket, 'Name of the bootstrap bucket');
    output(OUTPUT_IDS.bootstrapKeyId, this.bootstrapBucket.key.id, 'Id of the bootstrap bucket SSE key');
    output(OUTPUT_IDS.fulcioRootKeyId, this.rootKeys.fulcioRootKey.id, 'Id of the Fulcio root key (looked up by alias)');
    output(OUTPUT_IDS.tsaRootKeyId, this.rootKeys.tsaRootKey.id, 'Id of the TSA root key (looked up by alias)');
    if (this.refreshIdentity) output(OUTPUT_IDS.refreshGroup, this.refreshIdentity.group.name, 'IAM group of the weekly tuf refresh identity (add its user)');
    if (this.rootKeys.tufRootKey) output(OUTPUT_IDS.tufRootKeyId, this.rootKeys.tufRootKey.id, 'Id of the TUF root key (looked up by alias)');
    if (this.rootKeys.stateKey) output(OUTPUT_IDS.stateKeyId, this.rootKeys.stateKey.id, 'Id of the state key, which wraps the data key of the state (looked up by alias)');
    output(OUTPUT_IDS.alarmTopicUrn, this.alarms.topic.topicUrn, 'URN of the SMN topic the alarms notify');
    if (this.imageMirrors) output(OUTPUT_IDS.mirrorOrganization, this.imageMirrors.organization.name, 'SWR organization of the image mirrors');
  }
}
