import { Construct } from 'constructs';
import { NetworkWiring } from './network-wiring';
import type { ServiceAddress } from './trillian';
import { requireName, requirePinnedImage, requireProp } from './prop-validation';
import { secureContainer, secureJob } from './workload';

export interface TreeFreezeJobProps {
  /** Job name, e.g. `rekor-g1-freeze`. */
  readonly name: string;
  /** Trillian log server's gRPC address (updatetree uses the admin API). */
  readonly adminServer: ServiceAddress;
  /** The decimal id of the tree to freeze. */
  readonly treeId: string;
  /** The scaffolding updatetree image, pinned. */
  readonly image: string;
}

/**
 * Freezes a retired log shard's Trillian tree (scaffolding updatetree, `--tree_state=FROZEN`): the tree
 * stays readable (inclusion proofs, entries) but takes no new leaves. Idempotent (setting FROZEN on a
 * frozen tree changes nothing), so re-applying the manifests re-runs it harmlessly. No Kubernetes API
 * access: only the Trillian admin API.
 */
export class TreeFreezeJob extends Construct {
  constructor(scope: Construct, id: string, props: TreeFreezeJobProps) {
    super(scope, id);
    requireName(this, 'name', props.name);
    requirePinnedImage(this, 'image', props.image);
    requireProp(this, /^[1-9][0-9]{0,18}$/.test(props.treeId), 'treeId', props.treeId, 'a decimal Trillian tree id');
    const adminServer = NetworkWiring.of(this).connect(props.name, props.adminServer, 'Trillian admin API (updatetree)');
    secureJob(this, 'Job', {
      name: props.name,
      backoffLimit: 20,
      container: secureContainer({
        name: 'updatetree',
        image: props.image,
        // Flags of sigstore/scaffolding:cmd/trillian/updatetree/main.go (v0.7.31).
        args: [`--tree_id=${props.treeId}`, '--tree_state=FROZEN', `--admin_server=${adminServer.host}:${adminServer.port}`],
        resources: { cpuMillis: { request: 50, limit: 200 }, memoryMebibytes: { request: 32, limit: 128 } },
      }),
    });
  }
}
