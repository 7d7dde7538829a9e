import type { TerraformElement } from 'cdktf';

/*
 * The Terraform names of everything the cloud stack creates. cdktf would derive names from
 * construct paths with a hash suffix; the runbook's `tofu apply -target=...` and `-replace=...`
 * flows need names that never change, so every resource, data source and output gets its name from
 * this table (`overrideLogicalId`). The README lists the resulting addresses; a test checks that
 * every address in the synthesized stack is documented there.
 */
export const LOGICAL_IDS = {
  /** `opentelekomcloud_kms_key_v1`, `opentelekomcloud_obs_bucket` (the runbook's address) and `opentelekomcloud_obs_bucket_policy`. */
  bootstrap: 'sigstore_bootstrap',
  /** `data.opentelekomcloud_kms_key_v1`: the Fulcio root key, looked up by alias. */
  fulcioRootKey: 'fulcio_root',
  /** `data.opentelekomcloud_kms_key_v1`: the TSA root key, looked up by alias. */
  tsaRootKey: 'tsa_root',
  /** `data.opentelekomcloud_kms_key_v1`: the TUF root key, looked up by alias (when `otc.kms.tufRootKeyAlias` is set). */
  tufRootKey: 'tuf_root',
  /** `data.opentelekomcloud_kms_key_v1`: the state key (AES_256) that wraps the data key of the state's sealed passwords, looked up by alias. */
  stateKey: 'state_key',
  /** `opentelekomcloud_cts_tracker_v3` (`_v1` in eu-nl). */
  auditTracker: 'sigstore_audit',
  /** `opentelekomcloud_cts_event_notification_v3`. */
  keyLifecycleNotification: 'sigstore_key_lifecycle',
  /** `opentelekomcloud_smn_topic_v2`. */
  alarmTopic: 'sigstore_alarms',
  /** `opentelekomcloud_ces_alarmrule`. */
  fulcioErrorRateAlarm: 'fulcio_issuance_error_rate',
  tsaLatencyAlarm: 'tsa_latency_p99',
  /** `opentelekomcloud_swr_organization_v2`. */
  mirrorOrganization: 'sigstore_mirror',
  /** `opentelekomcloud_identity_group_v3`: the weekly refresh identity's group (when the state lives in OBS). */
  refreshGroup: 'sigstore_tuf_refresh',
  /** `opentelekomcloud_identity_role_v3` and `opentelekomcloud_identity_role_assignment_v3`: its OBS permissions. */
  refreshObs: 'sigstore_tuf_refresh_obs',
  /** The same, for its KMS permissions (the bucket's SSE key only). */
  refreshKms: 'sigstore_tuf_refresh_kms',
  /** `data.opentelekomcloud_identity_auth_scope_v3`: the account (domain) and project of the provider's credentials. */
  authScope: 'current',
} as const;

/** `opentelekomcloud_smn_subscription_v2.sigstore_alarms_<name>` */
export function alarmSubscriptionId(name: string): string {
  return `${LOGICAL_IDS.alarmTopic}_${name}`;
}

/** `opentelekomcloud_swr_repository_v2.cache_<name>` ("-" and "." become "_"). */
export function mirrorRepositoryId(imageName: string): string {
  return `cache_${imageName.replace(/[^a-z0-9_]/g, '_')}`;
}

/** Names of the stack outputs (`tofu output <name>`). */
export const OUTPUT_IDS = {
  bootstrapBucket: 'bootstrap_bucket',
  bootstrapKeyId: 'bootstrap_key_id',
  fulcioRootKeyId: 'fulcio_root_key_id',
  tsaRootKeyId: 'tsa_root_key_id',
  tufRootKeyId: 'tuf_root_key_id',
  stateKeyId: 'state_key_id',
  alarmTopicUrn: 'alarm_topic_urn',
  mirrorOrganization: 'mirror_organization',
  refreshGroup: 'tuf_refresh_group',
} as const;

/** Gives a resource, data source or output its fixed Terraform name; returns it for chaining. */
export function withLogicalId<T extends TerraformElement>(element: T, logicalId: string): T {
  element.overrideLogicalId(logicalId);
  return element;
}
