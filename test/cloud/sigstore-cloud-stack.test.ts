import { Testing } from 'cdktf';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KEY_LIFECYCLE_TRACES } from '../../lib/cloud/audit-trail';
import { SigstoreCloudStack } from '../../lib/cloud/sigstore-cloud-stack';
import { mirroredImageNames } from '../../lib/config/images';
import { CloudError } from '../../lib/errors';
import { addressesOf, minimalCloudConfig, prdExampleConfig, synthStack } from '../helpers/cloud';
import { configFromYaml } from '../helpers/config';
import { CDKTF_IN_MEMORY_OUTDIR } from '../helpers/temp-directory';

const ELB_ID = '0b6e5c2a-3f4d-4e8a-9c1b-2d3e4f5a6b7c';

describe('SigstoreCloudStack (production example)', () => {
  const { stack, text, json } = synthStack(prdExampleConfig());
  const resource = (type: string, name: string) => {
    const found = json.resource[type]?.[name];
    if (!found) throw new Error(`no resource ${type}.${name} in the stack`);
    return found as Record<string, any>;
  };

  it('matches the snapshot', () => {
    expect(stack.node.id).toBe('sigstore-prd');
    expect(json).toMatchSnapshot();
  });

  it('has the documented, stable resource addresses', () => {
    expect(addressesOf(json)).toEqual(
      [
        'data.opentelekomcloud_kms_key_v1.fulcio_root',
        'data.opentelekomcloud_kms_key_v1.state_key',
        'data.opentelekomcloud_kms_key_v1.tsa_root',
        'data.opentelekomcloud_kms_key_v1.tuf_root',
        'data.opentelekomcloud_identity_auth_scope_v3.current',
        'opentelekomcloud_identity_group_v3.sigstore_tuf_refresh',
        'opentelekomcloud_identity_role_v3.sigstore_tuf_refresh_obs',
        'opentelekomcloud_identity_role_v3.sigstore_tuf_refresh_kms',
        'opentelekomcloud_identity_role_assignment_v3.sigstore_tuf_refresh_obs',
        'opentelekomcloud_identity_role_assignment_v3.sigstore_tuf_refresh_kms',
        'opentelekomcloud_ces_alarmrule.fulcio_issuance_error_rate',
        'opentelekomcloud_ces_alarmrule.tsa_latency_p99',
        'opentelekomcloud_cts_event_notification_v3.sigstore_key_lifecycle',
        'opentelekomcloud_cts_tracker_v3.sigstore_audit',
        'opentelekomcloud_kms_key_v1.sigstore_bootstrap',
        'opentelekomcloud_obs_bucket.sigstore_bootstrap',
        'opentelekomcloud_obs_bucket_policy.sigstore_bootstrap',
        'opentelekomcloud_smn_subscription_v2.sigstore_alarms_oncall',
        'opentelekomcloud_smn_topic_v2.sigstore_alarms',
        'opentelekomcloud_swr_organization_v2.sigstore_mirror',
        ...mirroredImageNames().map((name) => `opentelekomcloud_swr_repository_v2.cache_${name.replace(/-/g, '_')}`),
      ].sort(),
    );
    expect(Object.keys(json.output).sort()).toEqual(
      ['alarm_topic_urn', 'bootstrap_bucket', 'bootstrap_key_id', 'fulcio_root_key_id', 'mirror_organization', 'state_key_id', 'tsa_root_key_id', 'tuf_refresh_group', 'tuf_root_key_id'],
    );
  });

  describe('the weekly refresh identity (the state lives in OBS)', () => {
    it('may use the state prefix of the bucket and the bucket key\'s data keys, and no root key', () => {
      const obs = resource('opentelekomcloud_identity_role_v3', 'sigstore_tuf_refresh_obs');
      expect(obs.display_layer).toBe('domain');
      expect(obs.statement).toEqual([
        { effect: 'Allow', action: ['obs:bucket:ListBucket', 'obs:bucket:GetBucketVersioning', 'obs:bucket:GetBucketAcl', 'obs:bucket:GetBucketPolicy'], resource: ['OBS:*:*:bucket:example-forge-prd-sigstore'] },
        { effect: 'Allow', action: ['obs:object:GetObject', 'obs:object:PutObject', 'obs:object:DeleteObject'], resource: ['OBS:*:*:object:example-forge-prd-sigstore/sigstore-state/prd/*'] },
      ]);
      const kms = resource('opentelekomcloud_identity_role_v3', 'sigstore_tuf_refresh_kms');
      expect(kms.display_layer).toBe('project');
      const actions = kms.statement.flatMap((statement: { action: string[] }) => statement.action);
      expect(actions).not.toContain('kms:cmk:sign');
      expect(actions.some((action: string) => /sign|create$|\*/.test(action) && action !== 'kms:dek:create')).toBe(false);
      expect(kms.statement[1].resource).toEqual(['KMS:*:*:KeyId:${opentelekomcloud_kms_key_v1.sigstore_bootstrap.id}']);
      // decrypt-datakey under the state key only (the online TUF keys' passwords are sealed under its data key).
      expect(kms.statement[2]).toEqual({ effect: 'Allow', action: ['kms:dek:crypto'], resource: ['KMS:*:*:KeyId:${data.opentelekomcloud_kms_key_v1.state_key.id}'] });
      expect(kms.statement).toHaveLength(3);
      expect(JSON.stringify(kms)).not.toMatch(/fulcio_root|tsa_root|tuf_root/);
      expect(resource('opentelekomcloud_identity_role_assignment_v3', 'sigstore_tuf_refresh_obs')).toMatchObject({
        group_id: '${opentelekomcloud_identity_group_v3.sigstore_tuf_refresh.id}',
        role_id: '${opentelekomcloud_identity_role_v3.sigstore_tuf_refresh_obs.id}',
        domain_id: '${data.opentelekomcloud_identity_auth_scope_v3.current.project_domain_id}',
      });
      expect(resource('opentelekomcloud_identity_role_assignment_v3', 'sigstore_tuf_refresh_kms')).toMatchObject({
        project_id: '${data.opentelekomcloud_identity_auth_scope_v3.current.project_id}',
      });
    });
  });

  describe('bootstrap bucket', () => {
    const bucket = resource('opentelekomcloud_obs_bucket', 'sigstore_bootstrap');

    it('is private, versioned and STANDARD, and refuses to be destroyed', () => {
      expect(bucket).toMatchObject({ bucket: 'example-forge-prd-sigstore', acl: 'private', versioning: true, storage_class: 'STANDARD', force_destroy: false });
      expect(bucket.lifecycle).toEqual({ prevent_destroy: true });
      expect(Testing.toHaveResourceWithProperties(text, 'opentelekomcloud_obs_bucket', { acl: 'private', versioning: true })).toBe(true);
    });

    it("is encrypted server-side with the stack's own symmetric KMS key", () => {
      expect(bucket.server_side_encryption).toEqual({ algorithm: 'kms', kms_key_id: '${opentelekomcloud_kms_key_v1.sigstore_bootstrap.id}' });
      const key = resource('opentelekomcloud_kms_key_v1', 'sigstore_bootstrap');
      expect(key).toMatchObject({
        key_alias: 'sigstore-prd-bootstrap-g1',
        is_enabled: true,
        rotation_enabled: true,
        rotation_interval: 365,
        pending_days: '30',
        allow_cancel_deletion: true,
        lifecycle: { prevent_destroy: true },
      });
      expect(Object.keys(json.resource.opentelekomcloud_kms_key_v1)).toEqual(['sigstore_bootstrap']);
    });

    it('has a policy that denies every request made without TLS', () => {
      const policyResource = resource('opentelekomcloud_obs_bucket_policy', 'sigstore_bootstrap');
      expect(policyResource.bucket).toBe('${opentelekomcloud_obs_bucket.sigstore_bootstrap.bucket}');
      const policy = JSON.parse(policyResource.policy as string);
      expect(policy).toEqual({
        Statement: [
          {
            Sid: 'DenyInsecureTransport',
            Effect: 'Deny',
            Principal: { ID: ['*'] },
            Action: ['*'],
            Resource: ['example-forge-prd-sigstore', 'example-forge-prd-sigstore/*'],
            Condition: { Bool: { SecureTransport: ['false'] } },
          },
        ],
      });
      expect(policy).toEqual(stack.bootstrapBucket.policyDocument);
    });

    it('expires noncurrent versions and abandoned uploads', () => {
      expect(bucket.lifecycle_rule).toEqual([
        {
          name: 'expire-noncurrent-versions',
          enabled: true,
          noncurrent_version_expiration: [{ days: 365 }],
          abort_incomplete_multipart_upload: [{ days: 7 }],
        },
      ]);
    });

    it('is tagged, as are its key and the alarm topic', () => {
      const tags = { 'managed-by': 'sigstore-cdk', 'sigstore-env': 'prd', owner: 'platform-team', 'cost-center': 'pki' };
      expect(bucket.tags).toEqual(tags);
      expect(resource('opentelekomcloud_kms_key_v1', 'sigstore_bootstrap').tags).toEqual(tags);
      expect(resource('opentelekomcloud_smn_topic_v2', 'sigstore_alarms').tags).toEqual(tags);
    });
  });

  it('looks the asymmetric root keys up by alias (enabled keys only) instead of creating them', () => {
    expect(json.data.opentelekomcloud_kms_key_v1).toEqual({
      fulcio_root: expect.objectContaining({ key_alias: 'sigstore-fulcio-root-g1', key_state: '2' }),
      tsa_root: expect.objectContaining({ key_alias: 'sigstore-tsa-root-g1', key_state: '2' }),
      tuf_root: expect.objectContaining({ key_alias: 'sigstore-tuf-root-g1', key_state: '2' }),
      // The symmetric key that wraps the state's data key (sealed passwords), for the refresh identity's grant.
      state_key: { key_alias: 'sigstore-prd-state', key_state: '2' },
    });
    expect(json.output.tuf_root_key_id.value).toBe('${data.opentelekomcloud_kms_key_v1.tuf_root.id}');
    expect(text).not.toMatch(/key_spec|key_usage/);
    expect(json.output.fulcio_root_key_id.value).toBe('${data.opentelekomcloud_kms_key_v1.fulcio_root.id}');
    expect(json.output.tsa_root_key_id.value).toBe('${data.opentelekomcloud_kms_key_v1.tsa_root.id}');
  });

  it('looks up every further TUF root key alias of tuf.root.keys (enabled keys only), so a plan fails when one is disabled', () => {
    const config = configFromYaml(
      [
        'organization: Test Org',
        'signer: otc-kms',
        'otc:',
        '  region: eu-de',
        '  kms: { fulcioRootKeyAlias: f-g1, tsaRootKeyAlias: t-g1, tufRootKeyAlias: u-g1 }',
        'cloud: { bootstrapBucket: { name: test-sigstore-bootstrap } }',
        'tuf:',
        '  root:',
        '    threshold: 2',
        '    keys: [{ kmsAlias: u-a-g2 }, { local: offline-b }, { kmsAlias: u-g1 }, { kmsAlias: u-c-g2 }]',
      ].join('\n'),
      'stg',
    );
    const lookups = synthStack(config).json.data.opentelekomcloud_kms_key_v1;
    expect(Object.keys(lookups).sort()).toEqual(['fulcio_root', 'state_key', 'tsa_root', 'tuf_root', 'tuf_root_1', 'tuf_root_2']);
    expect(lookups.tuf_root_1).toEqual(expect.objectContaining({ key_alias: 'u-a-g2', key_state: '2' }));
    expect(lookups.tuf_root_2).toEqual(expect.objectContaining({ key_alias: 'u-c-g2', key_state: '2' }));
  });

  describe('audit', () => {
    it('sends CTS traces to the bootstrap bucket (after its TLS policy) and to LTS', () => {
      expect(resource('opentelekomcloud_cts_tracker_v3', 'sigstore_audit')).toMatchObject({
        status: 'enabled',
        bucket_name: '${opentelekomcloud_obs_bucket.sigstore_bootstrap.bucket}',
        file_prefix_name: 'cts',
        is_obs_created: false,
        is_lts_enabled: true,
        depends_on: ['opentelekomcloud_obs_bucket_policy.sigstore_bootstrap'],
      });
    });

    it('notifies the alarm topic of KMS key lifecycle events', () => {
      const notification = resource('opentelekomcloud_cts_event_notification_v3', 'sigstore_key_lifecycle');
      expect(notification).toMatchObject({
        notification_name: 'sigstore_prd_kms_key_lifecycle',
        operation_type: 'customized',
        status: 'enabled',
        topic_id: '${opentelekomcloud_smn_topic_v2.sigstore_alarms.topic_urn}',
      });
      expect(notification.operations).toEqual([{ service_type: 'KMS', resource_type: 'cmk', trace_names: [...KEY_LIFECYCLE_TRACES] }]);
      expect(KEY_LIFECYCLE_TRACES).toEqual(expect.arrayContaining(['createKey', 'disableKey', 'scheduleKeyDeletion', 'updateKeyAlias']));
    });
  });

  describe('alarms', () => {
    const topicUrn = '${opentelekomcloud_smn_topic_v2.sigstore_alarms.topic_urn}';
    const notify = [{ type: 'notification', notification_list: [topicUrn] }];

    it('notify one SMN topic with the configured subscriptions', () => {
      expect(resource('opentelekomcloud_smn_topic_v2', 'sigstore_alarms')).toMatchObject({ name: 'sigstore-prd-alarms' });
      expect(resource('opentelekomcloud_smn_subscription_v2', 'sigstore_alarms_oncall')).toMatchObject({
        topic_urn: topicUrn,
        protocol: 'email',
        endpoint: 'pki-oncall@example.com',
      });
      for (const alarm of Object.values(json.resource.opentelekomcloud_ces_alarmrule)) {
        expect(alarm).toMatchObject({ alarm_enabled: true, alarm_action_enabled: true, alarm_actions: notify, ok_actions: notify });
      }
    });

    it('Fulcio 5xx rate on the load balancer: > 1/min in each of 5 consecutive minutes', () => {
      expect(resource('opentelekomcloud_ces_alarmrule', 'fulcio_issuance_error_rate')).toMatchObject({
        alarm_name: 'sigstore-prd-fulcio-issuance-error-rate',
        metric: { namespace: 'SYS.ELB', metric_name: 'mf_l7_http_5xx', dimensions: [{ name: 'lbaas_instance_id', value: ELB_ID }] },
        condition: { period: 1, count: 5, comparison_operator: '>', value: 1 / 60 },
      });
    });

    it('TSA latency on the load balancer: the per-minute maximum above 2000 ms for 5 minutes', () => {
      expect(resource('opentelekomcloud_ces_alarmrule', 'tsa_latency_p99')).toMatchObject({
        alarm_name: 'sigstore-prd-tsa-latency-p99',
        metric: { namespace: 'SYS.ELB', metric_name: 'm1c_l7_rt_max', dimensions: [{ name: 'lbaas_instance_id', value: ELB_ID }] },
        condition: { period: 1, count: 5, comparison_operator: '>', value: 2000, filter: 'max' },
      });
    });

    it('only on metrics something publishes: none on custom metrics (nothing publishes the KMS quota or the signing bypass)', () => {
      const alarms = Object.values(json.resource.opentelekomcloud_ces_alarmrule) as { metric: { namespace: string } }[];
      expect(alarms.map((alarm) => alarm.metric.namespace)).toEqual(['SYS.ELB', 'SYS.ELB']);
    });
  });

  it('creates a private SWR repository cache-<name> for every image of the image table', () => {
    expect(resource('opentelekomcloud_swr_organization_v2', 'sigstore_mirror')).toMatchObject({ name: 'example-forge-prd' });
    const repositories = Object.values(json.resource.opentelekomcloud_swr_repository_v2) as Record<string, unknown>[];
    expect(repositories.map((repository) => repository.name).sort()).toEqual(mirroredImageNames().map((name) => `cache-${name}`).sort());
    for (const repository of repositories) {
      expect(repository).toMatchObject({ organization: '${opentelekomcloud_swr_organization_v2.sigstore_mirror.name}', is_public: false });
    }
  });

  it('configures the provider from config only: no credential in the output', () => {
    expect(json.provider.opentelekomcloud).toEqual([
      { auth_url: 'https://iam.eu-de.otc.t-systems.com/v3', region: 'eu-de', tenant_id: '0123456789abcdef0123456789abcdef' },
    ]);
    expect(text).not.toMatch(/access_key|secret_key|password|"token"|security_token|passcode/);
  });

  it('the documented example starts with a local state (the bootstrap bucket does not exist before the first apply)', () => {
    expect(json.terraform.backend).toEqual({ local: { path: '../../../terraform.sigstore-prd.tfstate' } });
  });

  it('keeps its state in OBS through the S3 backend when configured (the state moved into the bootstrap bucket), with no credential', () => {
    const example = prdExampleConfig();
    const moved = synthStack({ ...example, cloud: { ...example.cloud!, stateBackend: { kind: 'obs', bucket: 'example-forge-prd-sigstore', key: 'sigstore/prd/terraform.tfstate' } } });
    expect(moved.json.terraform.backend).toEqual({
      s3: {
        bucket: 'example-forge-prd-sigstore',
        key: 'sigstore/prd/terraform.tfstate',
        region: 'eu-de',
        endpoints: { s3: 'https://obs.eu-de.otc.t-systems.com' },
        skip_region_validation: true,
        skip_credentials_validation: true,
        skip_requesting_account_id: true,
        skip_metadata_api_check: true,
        skip_s3_checksum: true,
      },
    });
  });

  it('documents every address and output in the README', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    for (const address of addressesOf(json)) {
      const documented = address
        .replace(/swr_repository_v2\.cache_[a-z0-9_]+$/, 'swr_repository_v2.cache_<name>')
        .replace(/smn_subscription_v2\.sigstore_alarms_[a-z0-9_]+$/, 'smn_subscription_v2.sigstore_alarms_<name>');
      expect(readme).toContain(documented);
    }
    for (const output of Object.keys(json.output)) expect(readme).toContain(`\`${output}\``);
  });
});

describe('SigstoreCloudStack variants', () => {
  it('snapshot of the smallest stack: local state beside cdktf.out, no load balancer alarms, no mirror', () => {
    const { json } = synthStack(minimalCloudConfig());
    expect(json).toMatchSnapshot();
    expect(json.terraform.backend).toEqual({ local: { path: '../../../terraform.sigstore-stg.tfstate' } });
    expect(json.resource.opentelekomcloud_ces_alarmrule).toBeUndefined();
    expect(json.resource.opentelekomcloud_swr_organization_v2).toBeUndefined();
    expect(json.resource.opentelekomcloud_smn_subscription_v2).toBeUndefined();
    expect(json.provider.opentelekomcloud).toEqual([{ auth_url: 'https://iam.eu-de.otc.t-systems.com/v3', region: 'eu-de' }]);
  });

  it('eu-nl: the v1 CTS tracker (no v3 tracker API there); eu-ch2: the Swiss endpoints', () => {
    const nl = synthStack(minimalCloudConfig('', 'eu-nl')).json;
    expect(nl.resource.opentelekomcloud_cts_tracker_v3).toBeUndefined();
    expect(nl.resource.opentelekomcloud_cts_tracker_v1.sigstore_audit).toMatchObject({ bucket_name: '${opentelekomcloud_obs_bucket.sigstore_bootstrap.bucket}', file_prefix_name: 'cts' });
    const ch = synthStack(
      minimalCloudConfig('cloud:\n  bootstrapBucket: { name: test-sigstore-bootstrap }\n  stateBackend: { kind: obs, bucket: state-bucket-ch }', 'eu-ch2'),
    ).json;
    expect(ch.provider.opentelekomcloud[0].auth_url).toBe('https://iam-pub.eu-ch2.sc.otc.t-systems.com/v3');
    expect(ch.terraform.backend.s3).toMatchObject({ endpoints: { s3: 'https://obs.eu-ch2.sc.otc.t-systems.com' }, key: 'sigstore/stg/terraform.tfstate' });
  });

  it('scopes load balancer alarms to listeners, leaves the tracker alone, and uses a custom local state path', () => {
    const { json } = synthStack(
      minimalCloudConfig(
        [
          'cloud:',
          '  bootstrapBucket: { name: test-sigstore-bootstrap, keyGeneration: 3 }',
          '  audit: { manageTracker: false }',
          '  stateBackend: { kind: local, path: state/sigstore.tfstate }',
          '  alarms:',
          `    loadBalancerId: ${ELB_ID}`,
          '    fulcioListenerId: 11111111-2222-4333-8444-555555555555',
          '    fulcioErrorsPerMinute: 3',
        ].join('\n'),
      ),
    );
    const alarms = json.resource.opentelekomcloud_ces_alarmrule as Record<string, any>;
    expect(alarms.fulcio_issuance_error_rate.metric.dimensions).toEqual([{ name: 'lbaas_listener_id', value: '11111111-2222-4333-8444-555555555555' }]);
    expect(alarms.fulcio_issuance_error_rate.condition.value).toBe(3 / 60);
    expect(alarms.tsa_latency_p99.metric.dimensions).toEqual([{ name: 'lbaas_instance_id', value: ELB_ID }]);
    expect(json.resource.opentelekomcloud_cts_tracker_v3).toBeUndefined();
    expect(json.resource.opentelekomcloud_cts_event_notification_v3).toBeDefined();
    expect(json.resource.opentelekomcloud_kms_key_v1.sigstore_bootstrap.key_alias).toBe('sigstore-stg-bootstrap-g3');
    expect(json.terraform.backend).toEqual({ local: { path: '../../../state/sigstore.tfstate' } });
  });

  it('creates no mirror when the mirror registry is not OTC SWR', () => {
    const { json } = synthStack(minimalCloudConfig('images:\n  mirror:\n    registry: harbor.example.com\n    organization: forge'));
    expect(json.resource.opentelekomcloud_swr_organization_v2).toBeUndefined();
    expect(json.output.mirror_organization).toBeUndefined();
  });

  it('refuses an environment without a cloud section, naming the stack', () => {
    const config = configFromYaml('organization: x\n', 'dev');
    expect(SigstoreCloudStack.reasonForNoStack(config)).toBe('it has no cloud section');
    expect(() => new SigstoreCloudStack(Testing.app({ outdir: CDKTF_IN_MEMORY_OUTDIR }), { config })).toThrow(
      expect.objectContaining({ code: 'CLOUD_PROPS_INVALID', message: expect.stringContaining('sigstore-dev: environment "dev" cannot have a cloud stack') }),
    );
  });
});

describe('construct validation', () => {
  // Constructs validate their own props (they can be used without a configuration file).
  const build = (mutate: (config: ReturnType<typeof minimalCloudConfig>) => void) => () => {
    const config = minimalCloudConfig();
    mutate(config);
    new SigstoreCloudStack(Testing.app({ outdir: CDKTF_IN_MEMORY_OUTDIR }), { config });
  };

  it('names the construct path, the prop and the bad value', () => {
    expect(build((config) => Object.assign(config.cloud!.bootstrapBucket, { name: 'dotted.bucket.name' }))).toThrow(CloudError);
    expect(build((config) => Object.assign(config.cloud!.bootstrapBucket, { name: 'dotted.bucket.name' }))).toThrow(
      'sigstore-stg/BootstrapBucket: bucketName "dotted.bucket.name" is invalid: expected an OBS bucket name that must not contain "."',
    );
    expect(build((config) => Object.assign(config.cloud!.alarms, { tsaLatencyMs: 0 }))).toThrow(
      'sigstore-stg/Alarms: tsaLatencyMs 0 is invalid: expected a whole number from 1 to 600000',
    );
    expect(build((config) => Object.assign(config.otc!.kms, { tsaRootKeyAlias: 'sigstore-fulcio-root-g1' }))).toThrow(
      'sigstore-stg/RootKeys: tsaRootKeyAlias "sigstore-fulcio-root-g1" is invalid',
    );
    expect(
      build((config) =>
        Object.assign(config.cloud!.alarms, { subscriptions: [{ name: 'pager', protocol: 'sms', endpoint: '12345' }] }),
      ),
    ).toThrow('sigstore-stg/Alarms: subscriptions[0].endpoint "12345" is invalid: expected a phone number in E.164 form');
    expect(build((config) => Object.assign(config, { images: { mirror: { registry: 'swr.eu-de.otc.t-systems.com', organization: 'Bad_Org' } } }))).toThrow(
      'sigstore-stg/ImageMirrors: organization "Bad_Org" is invalid',
    );
  });
});
