import { kplus } from './kplus';
import { Construct } from 'constructs';
import { duplicateIndexes } from '../config/field-rules';
import { requireName, requireProp } from './prop-validation';
import { PART_OF_LABELS } from './workload';

/** Name of the ConfigMap a verify hook reads (the runbook's pre-receive hook). */
export const TRUST_ROOTS_CONFIGMAP = 'sigstore-trust-roots';

export interface TrustRootsProps {
  /** Namespaces that get the ConfigMap (they must exist: they belong to their applications). */
  readonly namespaces: readonly string[];
  /** The Fulcio root certificate, PEM. */
  readonly fulcioRootPem: string;
  /** The TSA root certificate, PEM. */
  readonly tsaRootPem: string;
  /** Fulcio chain (intermediate, root) and TSA chain (leaf, intermediate, root), PEM. */
  readonly fulcioChainPem: string;
  readonly tsaChainPem: string;
  /** trusted_root.json, for verifiers that read the sigstore format. */
  readonly trustedRootJson: string;
}

/**
 * The `sigstore-trust-roots` ConfigMap in every listed namespace: `fulcio-root.pem` and `tsa-root.pem`
 * (the runbook's keys, roots only), plus the full chains and `trusted_root.json` for verifiers that
 * need the intermediates. Public material only.
 */
export class TrustRoots extends Construct {
  constructor(scope: Construct, id: string, props: TrustRootsProps) {
    super(scope, id);
    for (const namespace of props.namespaces) requireName(this, 'namespaces[]', namespace);
    for (const { index } of duplicateIndexes(props.namespaces)) requireProp(this, false, 'namespaces[]', props.namespaces[index], 'each namespace once');
    for (const namespace of props.namespaces) {
      new kplus.ConfigMap(this, `ConfigMap-${namespace}`, {
        metadata: { name: TRUST_ROOTS_CONFIGMAP, namespace, labels: { ...PART_OF_LABELS } },
        data: {
          'fulcio-root.pem': props.fulcioRootPem,
          'tsa-root.pem': props.tsaRootPem,
          'fulcio-chain.pem': props.fulcioChainPem,
          'tsa-chain.pem': props.tsaChainPem,
          'trusted_root.json': props.trustedRootJson,
        },
      });
    }
  }
}
