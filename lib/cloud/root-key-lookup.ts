import { DataOpentelekomcloudKmsKeyV1 } from '@cdktf/provider-opentelekomcloud/lib/data-opentelekomcloud-kms-key-v1';
import { Construct } from 'constructs';
import { LOGICAL_IDS, withLogicalId } from './addresses';
import { invalidProps } from './invalid-props';
import { kmsAliasProblem } from './naming';

/** KMS key state "enabled" (1 pending activation, 2 enabled, 3 disabled, 4 pending deletion, 5 pending import). */
const KEY_STATE_ENABLED = '2';

export interface RootKeyLookupProps {
  /** Alias of the Fulcio root key (an EC signing key made by the key ceremony), with its generation. */
  readonly fulcioRootKeyAlias: string;
  /** Alias of the TSA root key, with its generation. */
  readonly tsaRootKeyAlias: string;
  /** Alias of the TUF root key (EC_P256), with its generation. @default - no TUF root key lookup (local TUF root) */
  readonly tufRootKeyAlias?: string;
  /**
   * Further TUF root key aliases (`tuf.root.keys` entries with `kmsAlias`), each looked up as
   * `data.opentelekomcloud_kms_key_v1.tuf_root_<n>` (1, 2, … in order). @default - none
   */
  readonly additionalTufRootKeyAliases?: readonly string[];
  /**
   * Alias of the state key: the symmetric AES_256 key that wraps the data key of the state's sealed
   * passwords (`keys ensure` creates it), looked up as `data.opentelekomcloud_kms_key_v1.state_key`
   * so that the weekly refresh identity may decrypt that data key and nothing else. @default - no lookup
   */
  readonly stateKeyAlias?: string;
}

/**
 * Reads the asymmetric root keys (Fulcio, TSA and, when configured, TUF) by alias; it never creates them. The provider bound by
 * @cdktf/provider-opentelekomcloud (1.36.54) has no `key_spec`/`key_usage` on
 * `opentelekomcloud_kms_key_v1`, so a Terraform-created key is always AES_256 / ENCRYPT_DECRYPT and
 * cannot sign: the key ceremony creates the EC keys through the KMS API, and the stack only looks
 * them up. Only enabled keys match, so a plan fails loudly when a root key is disabled or waits
 * for deletion.
 */
export class RootKeyLookup extends Construct {
  readonly fulcioRootKey: DataOpentelekomcloudKmsKeyV1;
  readonly tsaRootKey: DataOpentelekomcloudKmsKeyV1;
  readonly tufRootKey?: DataOpentelekomcloudKmsKeyV1;
  /** The further TUF root keys, in the order of `additionalTufRootKeyAliases`. */
  readonly additionalTufRootKeys: readonly DataOpentelekomcloudKmsKeyV1[];
  /** The state key, when `stateKeyAlias` is set. */
  readonly stateKey?: DataOpentelekomcloudKmsKeyV1;

  constructor(scope: Construct, id: string, props: RootKeyLookupProps) {
    super(scope, id);
    for (const prop of ['fulcioRootKeyAlias', 'tsaRootKeyAlias', 'tufRootKeyAlias'] as const) {
      const alias = props[prop];
      if (alias === undefined) continue;
      const problem = kmsAliasProblem(alias);
      if (problem) invalidProps(this, prop, alias, `a KMS alias that ${problem}`);
    }
    if (props.fulcioRootKeyAlias === props.tsaRootKeyAlias) {
      invalidProps(this, 'tsaRootKeyAlias', props.tsaRootKeyAlias, 'a different alias from fulcioRootKeyAlias: each root has its own key');
    }
    if (props.tufRootKeyAlias !== undefined && [props.fulcioRootKeyAlias, props.tsaRootKeyAlias].includes(props.tufRootKeyAlias)) {
      invalidProps(this, 'tufRootKeyAlias', props.tufRootKeyAlias, 'a different alias from the Fulcio and TSA root keys: each root has its own key');
    }
    this.fulcioRootKey = withLogicalId(
      new DataOpentelekomcloudKmsKeyV1(this, 'FulcioRoot', { keyAlias: props.fulcioRootKeyAlias, keyState: KEY_STATE_ENABLED }),
      LOGICAL_IDS.fulcioRootKey,
    );
    this.tsaRootKey = withLogicalId(
      new DataOpentelekomcloudKmsKeyV1(this, 'TsaRoot', { keyAlias: props.tsaRootKeyAlias, keyState: KEY_STATE_ENABLED }),
      LOGICAL_IDS.tsaRootKey,
    );
    if (props.tufRootKeyAlias !== undefined) {
      this.tufRootKey = withLogicalId(
        new DataOpentelekomcloudKmsKeyV1(this, 'TufRoot', { keyAlias: props.tufRootKeyAlias, keyState: KEY_STATE_ENABLED }),
        LOGICAL_IDS.tufRootKey,
      );
    }
    const additional = (props.additionalTufRootKeyAliases ?? []).filter((alias) => alias !== props.tufRootKeyAlias);
    additional.forEach((alias, index) => {
      const problem = kmsAliasProblem(alias);
      if (problem) invalidProps(this, `additionalTufRootKeyAliases[${index}]`, alias, `a KMS alias that ${problem}`);
      if ([props.fulcioRootKeyAlias, props.tsaRootKeyAlias].includes(alias)) {
        invalidProps(this, `additionalTufRootKeyAliases[${index}]`, alias, 'a different alias from the Fulcio and TSA root keys: each root has its own key');
      }
    });
    if (props.stateKeyAlias !== undefined) {
      const problem = kmsAliasProblem(props.stateKeyAlias);
      if (problem) invalidProps(this, 'stateKeyAlias', props.stateKeyAlias, `a KMS alias that ${problem}`);
      if ([props.fulcioRootKeyAlias, props.tsaRootKeyAlias, props.tufRootKeyAlias, ...additional].includes(props.stateKeyAlias)) {
        invalidProps(this, 'stateKeyAlias', props.stateKeyAlias, 'a key of its own (symmetric), not one of the root keys');
      }
      this.stateKey = withLogicalId(new DataOpentelekomcloudKmsKeyV1(this, 'StateKey', { keyAlias: props.stateKeyAlias, keyState: KEY_STATE_ENABLED }), LOGICAL_IDS.stateKey);
    }
    this.additionalTufRootKeys = additional.map((alias, index) =>
      withLogicalId(new DataOpentelekomcloudKmsKeyV1(this, `TufRoot${index + 1}`, { keyAlias: alias, keyState: KEY_STATE_ENABLED }), `${LOGICAL_IDS.tufRootKey}_${index + 1}`),
    );
  }
}
