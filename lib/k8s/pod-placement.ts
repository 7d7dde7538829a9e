import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import { kplus } from './kplus';
import { Construct, type IConstruct } from 'constructs';
import { COMPONENT_LABEL } from './network-wiring';

/*
 * Where the chart's pods run and how replicated servers survive a node drain: the environment's
 * `scheduling` section (node selector, tolerations, priority class) on every pod, and for a
 * Deployment with more than one replica a PodDisruptionBudget and topology spread over zones and
 * nodes. Single-writer components (MySQL, Redis, a force-master log signer) keep one replica and
 * strategy Recreate: a budget for them would block every drain, and a second copy would corrupt.
 */

export interface Toleration {
  readonly key?: string;
  readonly operator: 'Equal' | 'Exists';
  readonly value?: string;
  readonly effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface PodPlacementProps {
  /** Node labels every pod requires. @default {} */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** @default [] */
  readonly tolerations?: readonly Toleration[];
  /** @default - none */
  readonly priorityClassName?: string;
  /** The node label that names the zone. @default topology.kubernetes.io/zone */
  readonly zoneTopologyKey?: string;
  /** Secrets (type kubernetes.io/dockerconfigjson) every pod pulls its images with, e.g. for private SWR repositories. @default [] */
  readonly imagePullSecrets?: readonly string[];
}

const HOSTNAME_TOPOLOGY_KEY = 'kubernetes.io/hostname';

/** The placement of one chart's pods; constructs find it with `PodPlacement.of(this)`. */
export class PodPlacement extends Construct {
  static readonly ID = 'PodPlacement';

  /** The placement of the chart `scope` belongs to (the defaults, if the chart has none). */
  static of(scope: IConstruct): PodPlacement {
    const chart = Chart.of(scope);
    return (chart.node.tryFindChild(PodPlacement.ID) as PodPlacement | undefined) ?? new PodPlacement(chart, {});
  }

  readonly zoneTopologyKey: string;

  constructor(
    chart: Chart,
    private readonly props: PodPlacementProps,
  ) {
    super(chart, PodPlacement.ID);
    this.zoneTopologyKey = props.zoneTopologyKey ?? 'topology.kubernetes.io/zone';
  }

  /** Applies the node selector, tolerations, priority class and image pull secrets to a pod template at `path` of `workload`. */
  schedule(workload: Construct, templateSpecPath: string): void {
    const object = ApiObject.of(workload);
    const { nodeSelector = {}, tolerations = [], priorityClassName } = this.props;
    if (Object.keys(nodeSelector).length > 0) object.addJsonPatch(JsonPatch.add(`${templateSpecPath}/nodeSelector`, { ...nodeSelector }));
    if (tolerations.length > 0) object.addJsonPatch(JsonPatch.add(`${templateSpecPath}/tolerations`, tolerations.map((toleration) => ({ ...toleration }))));
    if (priorityClassName) object.addJsonPatch(JsonPatch.add(`${templateSpecPath}/priorityClassName`, priorityClassName));
    const pullSecrets = this.props.imagePullSecrets ?? [];
    if (pullSecrets.length > 0) object.addJsonPatch(JsonPatch.add(`${templateSpecPath}/imagePullSecrets`, pullSecrets.map((name) => ({ name }))));
  }

  /**
   * For a replicated Deployment: spread its pods over zones (preferred: a cluster in one zone, or with
   * uneven zones, still schedules) and nodes (required: two replicas never share a node; cordoned and
   * tainted nodes do not count, and each rollout revision is balanced on its own), and a budget that
   * lets a drain evict one pod at a time (and always an unhealthy one, which serves nobody).
   */
  replicate(scope: Construct, deployment: kplus.Deployment, component: string): kplus.k8s.KubePodDisruptionBudget {
    const selector = { matchLabels: { [COMPONENT_LABEL]: component } };
    const spread = (topologyKey: string, whenUnsatisfiable: 'ScheduleAnyway' | 'DoNotSchedule') => ({
      topologyKey,
      maxSkew: 1,
      whenUnsatisfiable,
      labelSelector: selector,
      matchLabelKeys: ['pod-template-hash'],
      nodeTaintsPolicy: 'Honor',
    });
    ApiObject.of(deployment).addJsonPatch(
      JsonPatch.add('/spec/template/spec/topologySpreadConstraints', [spread(this.zoneTopologyKey, 'ScheduleAnyway'), spread(HOSTNAME_TOPOLOGY_KEY, 'DoNotSchedule')]),
    );
    return new kplus.k8s.KubePodDisruptionBudget(scope, `${deployment.node.id}Budget`, {
      metadata: { name: component, labels: { [COMPONENT_LABEL]: component } },
      spec: { maxUnavailable: kplus.k8s.IntOrString.fromNumber(1), selector, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
    });
  }
}
