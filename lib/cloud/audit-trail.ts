import { CtsEventNotificationV3 } from '@cdktf/provider-opentelekomcloud/lib/cts-event-notification-v3';
import { CtsTrackerV1 } from '@cdktf/provider-opentelekomcloud/lib/cts-tracker-v1';
import { CtsTrackerV3 } from '@cdktf/provider-opentelekomcloud/lib/cts-tracker-v3';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { LOGICAL_IDS, withLogicalId } from './addresses';
import { invalidProps } from './invalid-props';

/**
 * The KMS operations CTS records that change a key's life (DEW "Operations supported by CTS").
 * Sign, verify and get-publickey are not among the operations CTS records at all: the key
 * ceremony keeps its own log of every root-key signature.
 */
export const KEY_LIFECYCLE_TRACES = [
  'createKey',
  'enableKey',
  'disableKey',
  'scheduleKeyDeletion',
  'cancelKeyDeletion',
  'updateKeyAlias',
  'updateKeyDescription',
  'importKeyMaterial',
  'deleteImportedKeyMaterial',
  'createGrant',
  'revokeGrant',
  'retireGrant',
  'enableKeyRotation',
  'disableKeyRotation',
  'updateKeyRotationInterval',
] as const;

export interface AuditTrailProps {
  /** OTC region: eu-nl has no CTS v3 tracker API, so the v1 tracker is used there. */
  readonly region: 'eu-de' | 'eu-nl' | 'eu-ch2';
  /** Bucket the trace files go to (a reference to the bootstrap bucket, so the tracker follows it). */
  readonly bucketName: string;
  /** Prefix of the trace files in the bucket. @default cts */
  readonly tracePrefix?: string;
  /** Manage the project's single CTS tracker (`system`); false when someone else owns it. @default true */
  readonly manageTracker?: boolean;
  /** SMN topic URN notified of key lifecycle events. */
  readonly topicUrn: string;
  /** Name of the key event notification: letters, digits and "_". */
  readonly notificationName: string;
  /** Resources the tracker is created after (e.g. the bucket policy). @default [] */
  readonly trackerDependsOn?: readonly ITerraformDependable[];
}

/**
 * Audit of the keys: the project's CTS tracker (traces to the bootstrap bucket and to LTS) and a
 * key event notification that mails the alarm topic whenever a KMS key is created, disabled,
 * scheduled for deletion, re-aliased or re-granted.
 */
export class AuditTrail extends Construct {
  readonly tracker?: CtsTrackerV3 | CtsTrackerV1;
  readonly keyLifecycleNotification: CtsEventNotificationV3;
  readonly tracePrefix: string;

  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id);
    this.tracePrefix = props.tracePrefix ?? 'cts';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(this.tracePrefix)) invalidProps(this, 'tracePrefix', this.tracePrefix, '1-64 letters, digits, "_" or "-"');
    if (!/^[A-Za-z0-9_]{1,64}$/.test(props.notificationName)) {
      invalidProps(this, 'notificationName', props.notificationName, '1-64 letters, digits or "_" (CTS allows nothing else)');
    }
    if (props.manageTracker ?? true) {
      const dependsOn = [...(props.trackerDependsOn ?? [])];
      this.tracker = withLogicalId(
        props.region === 'eu-nl'
          ? new CtsTrackerV1(this, 'Tracker', { bucketName: props.bucketName, filePrefixName: this.tracePrefix, isLtsEnabled: true, dependsOn })
          : new CtsTrackerV3(this, 'Tracker', {
              status: 'enabled',
              bucketName: props.bucketName,
              filePrefixName: this.tracePrefix,
              isObsCreated: false,
              isLtsEnabled: true,
              isSortByService: true,
              compressType: 'gzip',
              dependsOn,
            }),
        LOGICAL_IDS.auditTracker,
      );
    }
    this.keyLifecycleNotification = withLogicalId(
      new CtsEventNotificationV3(this, 'KeyLifecycle', {
        notificationName: props.notificationName,
        operationType: 'customized',
        status: 'enabled',
        topicId: props.topicUrn,
        operations: [{ serviceType: 'KMS', resourceType: 'cmk', traceNames: [...KEY_LIFECYCLE_TRACES] }],
      }),
      LOGICAL_IDS.keyLifecycleNotification,
    );
  }
}
