import { kplus } from './kplus';
import { Construct } from 'constructs';
import { NetworkWiring } from './network-wiring';
import type { ServiceAddress } from './trillian';
import { requireName, requirePinnedImage, requireProp } from './prop-validation';
import { componentLabels, secureContainer, secureJob } from './workload';

/** The ConfigMap key createtree writes the decimal tree id under. */
export const TREE_ID_KEY = 'treeID';

/** The data key that keeps the ConfigMap's `data` non-empty, so that re-applying it never drops `treeID`. */
export const TREE_PLACEHOLDER_KEY = '__placeholder';

export interface TreeJobProps {
  /** Prefix of the names: ConfigMap `<name>-tree`, Job and service account `<name>-createtree`. */
  readonly name: string;
  readonly namespace: string;
  /** Trillian log server's gRPC address (createtree uses the admin API). */
  readonly adminServer: ServiceAddress;
  /** Tree display name in Trillian (at most 20 characters, a column limit). */
  readonly displayName: string;
  /** The scaffolding createtree image, pinned. */
  readonly image: string;
  /**
   * The tree id pinned in the configuration (`services.trillian.treeIds`): written into the
   * ConfigMap, so createtree (which exits when `treeID` exists) never creates a fresh, empty tree
   * after the ConfigMap was lost. @default - none: createtree writes it
   */
  readonly pinnedTreeId?: string;
}

/**
 * The start-up gate of a Trillian personality (Rekor, the CT log): a ConfigMap that starts without
 * `treeID`, and a Job that creates a tree through Trillian's admin API and writes its id into the
 * ConfigMap. Pods that read `treeID` (as an environment variable) cannot start until it is there.
 *
 * Re-applying never replaces a tree: createtree exits when the key exists (it is never run with
 * `--force`), and the ConfigMap as applied has no `treeID` of its own, only a placeholder key, so an
 * apply leaves the key createtree wrote alone. Deleting the ConfigMap forgets the tree: don't.
 * The Job may only get and update this one ConfigMap.
 */
export class TreeJob extends Construct {
  /** The ConfigMap a tree Job named `name` writes the tree id into. */
  static configMapName(name: string): string {
    return `${name}-tree`;
  }

  readonly configMap: kplus.ConfigMap;
  readonly job: kplus.Job;
  /** The environment value of the tree id; a pod using it waits for the Job. */
  readonly treeId: kplus.EnvValue;

  constructor(scope: Construct, id: string, props: TreeJobProps) {
    super(scope, id);
    requireName(this, 'name', `${props.name}-createtree`);
    requireName(this, 'namespace', props.namespace);
    requirePinnedImage(this, 'image', props.image);
    requireProp(this, /^[A-Za-z0-9 _-]{1,20}$/.test(props.displayName), 'displayName', props.displayName, 'at most 20 letters, digits, spaces, "_" or "-"');
    if (props.pinnedTreeId !== undefined) requireProp(this, /^[1-9][0-9]{0,18}$/.test(props.pinnedTreeId), 'pinnedTreeId', props.pinnedTreeId, 'a decimal Trillian tree id');

    const jobName = `${props.name}-createtree`;
    const labels = componentLabels(jobName);
    this.configMap = new kplus.ConfigMap(this, 'ConfigMap', {
      metadata: { name: TreeJob.configMapName(props.name), labels },
      data: props.pinnedTreeId
        ? {
            [TREE_ID_KEY]: props.pinnedTreeId,
            [TREE_PLACEHOLDER_KEY]: `${TREE_ID_KEY} is pinned in the configuration (services.trillian.treeIds); Job ${jobName} finds it and creates nothing.`,
          }
        : {
            [TREE_PLACEHOLDER_KEY]: `${TREE_ID_KEY} is written by Job ${jobName} and never replaced. Do not delete this ConfigMap: that forgets the tree.`,
          },
    });
    const serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata: { name: jobName, labels }, automountToken: false });
    const role = new kplus.Role(this, 'Role', { metadata: { name: jobName, labels } });
    role.allow(['get', 'update'], this.configMap);
    const binding = new kplus.RoleBinding(this, 'RoleBinding', { metadata: { name: jobName, labels }, role });
    binding.addSubjects(serviceAccount);

    const wiring = NetworkWiring.of(this);
    const adminServer = wiring.connect(jobName, props.adminServer, 'Trillian admin API (createtree)');
    wiring.connectToApiServer(jobName, `writes ${TREE_ID_KEY} into ConfigMap ${this.configMap.name}`);
    this.job = secureJob(this, 'Job', {
      name: jobName,
      serviceAccount,
      // Retries until Trillian answers (the database and log server may still be starting).
      backoffLimit: 20,
      container: secureContainer({
        name: 'createtree',
        image: props.image,
        args: [
          `--namespace=${props.namespace}`,
          `--configmap=${this.configMap.name}`,
          `--admin_server=${adminServer.host}:${adminServer.port}`,
          `--display_name=${props.displayName}`,
        ],
        resources: { cpuMillis: { request: 50, limit: 200 }, memoryMebibytes: { request: 32, limit: 128 } },
      }),
    });
    this.treeId = kplus.EnvValue.fromConfigMap(this.configMap, TREE_ID_KEY);
  }
}
