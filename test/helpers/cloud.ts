import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { SigstoreCloudStack } from '../../lib/cloud/sigstore-cloud-stack';
import { parseConfigText } from '../../lib/config/load';
import type { SigstoreConfig } from '../../lib/config/schema';
import { configFromYaml } from './config';
import { CDKTF_IN_MEMORY_OUTDIR } from './temp-directory';

/** The documented production example as environment `prd`. */
export function prdExampleConfig(): SigstoreConfig {
  const text = readFileSync(join(__dirname, '..', '..', 'envs', 'prd.example.yaml'), 'utf8');
  return { ...parseConfigText(text, 'envs/prd.example.yaml'), env: 'prd' };
}

/** The smallest configuration with a cloud stack, plus `extraYaml` (top-level fields). */
export function minimalCloudConfig(extraYaml = '', region = 'eu-de', env = 'stg'): SigstoreConfig {
  return configFromYaml(
    [
      'organization: Test Org',
      'otc:',
      `  region: ${region}`,
      '  kms:',
      '    fulcioRootKeyAlias: sigstore-fulcio-root-g1',
      '    tsaRootKeyAlias: sigstore-tsa-root-g1',
      extraYaml.includes('cloud:') ? '' : 'cloud:\n  bootstrapBucket:\n    name: test-sigstore-bootstrap',
      extraYaml,
    ].join('\n'),
    env,
  );
}

/** A synthesized stack (`Testing.synth`) as text and as parsed Terraform JSON. */
export function synthStack(config: SigstoreConfig): { stack: SigstoreCloudStack; text: string; json: TerraformJson } {
  const stack = new SigstoreCloudStack(Testing.app({ outdir: CDKTF_IN_MEMORY_OUTDIR }), { config });
  const text = Testing.synth(stack);
  return { stack, text, json: JSON.parse(text) as TerraformJson };
}

export interface TerraformJson {
  readonly provider: Record<string, Record<string, unknown>[]>;
  readonly resource: Record<string, Record<string, Record<string, unknown>>>;
  readonly data: Record<string, Record<string, Record<string, unknown>>>;
  readonly output: Record<string, { value: string; description?: string }>;
  readonly terraform: { backend: Record<string, Record<string, unknown>>; required_providers: Record<string, { source: string; version: string }> };
}

/** Every `type.name` (and `data.type.name`) address in the output, sorted. */
export function addressesOf(json: TerraformJson): string[] {
  const addresses: string[] = [];
  for (const [type, byName] of Object.entries(json.resource ?? {})) for (const name of Object.keys(byName)) addresses.push(`${type}.${name}`);
  for (const [type, byName] of Object.entries(json.data ?? {})) for (const name of Object.keys(byName)) addresses.push(`data.${type}.${name}`);
  return addresses.sort();
}
