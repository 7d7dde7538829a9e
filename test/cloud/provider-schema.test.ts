import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { minimalCloudConfig, prdExampleConfig, synthStack, type TerraformJson } from '../helpers/cloud';

/*
 * Nothing the provider would reject: every resource type, data source type, block and attribute in
 * the synthesized stacks must exist in the schema of the provider version the output pins. The
 * bindings package is generated from that schema; each resource's compiled module maps every
 * schema attribute to Terraform in `synthesizeAttributes()` and one `<block>ToTerraform()` function
 * per nested block. We read those maps and walk the output against them.
 */

const BINDINGS = join(__dirname, '..', '..', 'node_modules', '@cdktf', 'provider-opentelekomcloud');
const BINDINGS_LIB = join(BINDINGS, 'lib');

/** Terraform meta-arguments: not part of any provider schema. */
const META_ARGUMENTS = new Set(['//', 'depends_on', 'lifecycle', 'provider', 'count', 'for_each']);

interface BlockSchema {
  /** attribute or block name → the function that maps the nested block (undefined for attributes) */
  readonly fields: Map<string, string | undefined>;
}

/** The attribute/block maps of one compiled binding module. */
function schemaOf(moduleDirectory: string): { tfType: string; root: BlockSchema; blocks: Map<string, BlockSchema> } {
  const js = readFileSync(join(BINDINGS_LIB, moduleDirectory, 'index.js'), 'utf8');
  const tfType = /\.tfResourceType = "([a-z0-9_]+)"/.exec(js)?.[1];
  if (!tfType) throw new Error(`${moduleDirectory}: no tfResourceType`);
  const parseFields = (body: string): BlockSchema => {
    const fields = new Map<string, string | undefined>();
    for (const match of body.matchAll(/^\s+([a-z0-9_]+): (.*),$/gm)) {
      fields.set(match[1], /(?<!cdktf\.)\b([a-z][A-Za-z0-9]*ToTerraform)\b/.exec(match[2])?.[1]);
    }
    return { fields };
  };
  const blocks = new Map<string, BlockSchema>();
  for (const match of js.matchAll(/^function ([a-z][A-Za-z0-9]*ToTerraform)\(struct\) \{\n([\s\S]*?)\n\}/gm)) {
    blocks.set(match[1], parseFields(match[2]));
  }
  const root = /\n {4}synthesizeAttributes\(\) \{\n([\s\S]*?)\n {4}\}/.exec(js)?.[1];
  if (!root) throw new Error(`${moduleDirectory}: no synthesizeAttributes`);
  return { tfType, root: parseFields(root), blocks };
}

/** Binding module directory of a Terraform type (`opentelekomcloud_obs_bucket` → `obs-bucket`). */
function moduleOf(tfType: string, kind: 'resource' | 'data'): string {
  const base = tfType.replace(/^opentelekomcloud_/, '').replace(/_/g, '-');
  return kind === 'data' ? `data-opentelekomcloud-${base}` : base;
}

/** Paths of emitted fields that the schema does not know. */
function unknownFields(emitted: Record<string, unknown>, block: BlockSchema, blocks: Map<string, BlockSchema>, path: string): string[] {
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(emitted)) {
    if (path === '' && META_ARGUMENTS.has(key)) continue;
    if (!block.fields.has(key)) {
      unknown.push(`${path}${key}`);
      continue;
    }
    const nested = block.fields.get(key);
    if (nested === undefined) continue;
    const nestedBlock = blocks.get(nested);
    if (!nestedBlock) throw new Error(`no block function ${nested}`);
    const items = Array.isArray(value) ? value : [value];
    items.forEach((item, index) =>
      unknown.push(...unknownFields(item as Record<string, unknown>, nestedBlock, blocks, `${path}${key}[${index}].`)),
    );
  }
  return unknown;
}

function checkAgainstSchema(json: TerraformJson): { checked: string[]; unknown: string[] } {
  const checked: string[] = [];
  const unknown: string[] = [];
  for (const [kind, section] of [['resource', json.resource], ['data', json.data]] as const) {
    for (const [tfType, byName] of Object.entries(section ?? {})) {
      const schema = schemaOf(moduleOf(tfType, kind));
      expect(schema.tfType).toBe(tfType);
      for (const [name, emitted] of Object.entries(byName)) {
        checked.push(`${kind}.${tfType}.${name}`);
        unknown.push(...unknownFields(emitted, schema.root, schema.blocks, '').map((field) => `${tfType}.${name}: ${field}`));
      }
    }
  }
  const provider = schemaOf('provider');
  for (const block of json.provider.opentelekomcloud) unknown.push(...unknownFields(block, provider.root, provider.blocks, '').map((field) => `provider: ${field}`));
  return { checked, unknown };
}

describe('provider schema (the version the output pins)', () => {
  const pinned = JSON.parse(readFileSync(join(BINDINGS, 'package.json'), 'utf8')).cdktf.provider as { name: string; version: string };

  it('pins provider 1.36.54, the version the bindings were generated from', () => {
    expect(pinned.version).toBe('1.36.54');
    expect(synthStack(prdExampleConfig()).json.terraform.required_providers).toEqual({
      opentelekomcloud: { source: 'opentelekomcloud/opentelekomcloud', version: pinned.version },
    });
  });

  it('knows every resource, data source, block and attribute of every stack variant', () => {
    const variants = [
      prdExampleConfig(),
      minimalCloudConfig('', 'eu-nl'),
      minimalCloudConfig('cloud:\n  bootstrapBucket: { name: test-sigstore-bootstrap }\n  audit: { manageTracker: false }', 'eu-ch2'),
    ];
    const checked = new Set<string>();
    for (const config of variants) {
      const result = checkAgainstSchema(synthStack(config).json);
      expect(result.unknown).toEqual([]);
      result.checked.forEach((entry) => checked.add(entry));
    }
    // The walk really covered the nested blocks and every kind of resource.
    expect([...checked].map((entry) => entry.split('.')[1])).toEqual(
      expect.arrayContaining([
        'opentelekomcloud_obs_bucket',
        'opentelekomcloud_obs_bucket_policy',
        'opentelekomcloud_kms_key_v1',
        'opentelekomcloud_cts_tracker_v3',
        'opentelekomcloud_cts_tracker_v1',
        'opentelekomcloud_cts_event_notification_v3',
        'opentelekomcloud_ces_alarmrule',
        'opentelekomcloud_smn_topic_v2',
        'opentelekomcloud_smn_subscription_v2',
        'opentelekomcloud_swr_organization_v2',
        'opentelekomcloud_swr_repository_v2',
      ]),
    );
  });

  it('catches what the provider would reject (the check itself can fail)', () => {
    const { json } = synthStack(prdExampleConfig());
    const bucket = json.resource.opentelekomcloud_obs_bucket.sigstore_bootstrap as Record<string, any>;
    bucket.key_spec = 'EC_P384';
    bucket.lifecycle_rule[0].noncurrent_version_expiration[0].weeks = 1;
    (json.resource.opentelekomcloud_kms_key_v1.sigstore_bootstrap as Record<string, unknown>).key_usage = 'SIGN_VERIFY';
    expect(checkAgainstSchema(json).unknown.sort()).toEqual([
      'opentelekomcloud_kms_key_v1.sigstore_bootstrap: key_usage',
      'opentelekomcloud_obs_bucket.sigstore_bootstrap: key_spec',
      'opentelekomcloud_obs_bucket.sigstore_bootstrap: lifecycle_rule[0].noncurrent_version_expiration[0].weeks',
    ]);
  });

  it('confirms the provider cannot create an asymmetric key: kms_key_v1 has no key_spec or key_usage', () => {
    const kmsKey = schemaOf('kms-key-v1');
    expect([...kmsKey.root.fields.keys()]).toEqual(expect.arrayContaining(['key_alias', 'pending_days', 'rotation_enabled', 'allow_cancel_deletion']));
    expect(kmsKey.root.fields.has('key_spec')).toBe(false);
    expect(kmsKey.root.fields.has('key_usage')).toBe(false);
  });

  it('has no escape hatch in the cloud constructs but fixed logical ids (no addOverride, no raw resources)', () => {
    const directory = join(__dirname, '..', '..', 'lib', 'cloud');
    for (const file of readdirSync(directory).filter((name) => name.endsWith('.ts'))) {
      const source = readFileSync(join(directory, file), 'utf8');
      expect({ file, escapeHatches: source.match(/addOverride|new TerraformResource|new TerraformDataSource|TerraformHclModule/g) ?? [] }).toEqual({ file, escapeHatches: [] });
    }
    // overrideLogicalId gives valid, unique Terraform names.
    const { json } = synthStack(prdExampleConfig());
    for (const section of [json.resource, json.data]) {
      for (const byName of Object.values(section)) for (const name of Object.keys(byName)) expect(name).toMatch(/^[a-z][a-z0-9_]*$/);
    }
  });
});
