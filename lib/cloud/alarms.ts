import { CesAlarmrule, type CesAlarmruleCondition, type CesAlarmruleMetric } from '@cdktf/provider-opentelekomcloud/lib/ces-alarmrule';
import { SmnSubscriptionV2 } from '@cdktf/provider-opentelekomcloud/lib/smn-subscription-v2';
import { SmnTopicV2 } from '@cdktf/provider-opentelekomcloud/lib/smn-topic-v2';
import { Construct } from 'constructs';
import { LOGICAL_IDS, alarmSubscriptionId, withLogicalId } from './addresses';
import { invalidProps, wholeNumberIn } from './invalid-props';
import {
  SMN_PROTOCOLS,
  namePrefixProblem,
  smnEndpointProblem,
  subscriptionNameProblem,
  tagProblem,
  type SmnProtocol,
} from './naming';

/**
 * ELB metrics (namespace SYS.ELB, "ELB monitoring metrics" of the OTC docs). OTC's ELB publishes no
 * latency percentile: the TSA alarm watches the per-minute maximum, an upper bound of the p99, so
 * it never misses a p99 breach (it may also fire when fewer than 1% of the requests are slow).
 */
export const ELB_METRICS = {
  /** Layer-7 5xx responses returned by the load balancer (backend 5xx and its own 502/503/504), count/s. */
  http5xx: 'mf_l7_http_5xx',
  /** Maximum layer-7 response time in the minute, ms. */
  responseTimeMax: 'm1c_l7_rt_max',
} as const;

export interface AlarmSubscription {
  /** Our name for it, part of its Terraform address (`sigstore_alarms_<name>`): 1-32 of a-z, 0-9, "_". */
  readonly name: string;
  readonly protocol: SmnProtocol;
  /** Mail address, E.164 phone number or URL, matching the protocol. */
  readonly endpoint: string;
}

export interface AlarmLoadBalancer {
  /** Id of the ELB in front of Fulcio and the TSA. */
  readonly id: string;
  /** Scope the Fulcio alarm to this listener. @default - the whole load balancer */
  readonly fulcioListenerId?: string;
  /** Scope the TSA alarm to this listener. @default - the whole load balancer */
  readonly tsaListenerId?: string;
}

export interface AlarmsProps {
  /** Prefix of the alarm and topic names, e.g. `sigstore-prd`. */
  readonly namePrefix: string;
  /** Value of the `environment` dimension of the custom metrics. */
  readonly environment: string;
  /** Who is notified. @default [] (the topic exists; add subscriptions in the console or here) */
  readonly subscriptions?: readonly AlarmSubscription[];
  /** The load balancer; without it the Fulcio 5xx and TSA latency alarms are not created. @default - none */
  readonly loadBalancer?: AlarmLoadBalancer;
  /** Fulcio 5xx responses per minute, in each of 5 consecutive minutes (runbook). @default 1 */
  readonly fulcioErrorsPerMinute?: number;
  /** TSA response time in ms, in each of 5 consecutive minutes (runbook: p99 > 2 s for 5 min). @default 2000 */
  readonly tsaLatencyMs?: number;
  /** Tags on the SMN topic. @default {} */
  readonly tags?: Readonly<Record<string, string>>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Consecutive one-minute periods: the runbook's "for 5 min". */
const SUSTAINED_MINUTES = 5;
/** CES `period: 1` evaluates the raw data, one point per minute for ELB. */
const RAW_DATA = 1;

/**
 * The runbook's CES alarms with an SMN topic they (and their recovery) notify: Fulcio 5xx rate and
 * TSA latency, on metrics the load balancer publishes (SYS.ELB). Every alarm here watches a metric
 * that something publishes. The runbook's two alarms on custom metrics are not created, because
 * nothing would publish them: "KMS API quota in use" (KMS signs only during a key ceremony, `keys
 * ensure`, `bootstrap`, `rotate` and a due `tuf refresh`, a handful of calls each; the servers sign
 * with file keys) and "a tenant's signing bypass is set" (a setting of the forge's verify hook, which
 * this project neither sees nor owns). A forge that publishes such a metric can alarm on it itself.
 */
export class Alarms extends Construct {
  readonly topic: SmnTopicV2;
  readonly subscriptions: readonly SmnSubscriptionV2[];
  readonly fulcioErrorRate?: CesAlarmrule;
  readonly tsaLatency?: CesAlarmrule;
  readonly fulcioErrorsPerMinute: number;
  readonly tsaLatencyMs: number;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const prefixProblem = namePrefixProblem(props.namePrefix);
    if (prefixProblem) invalidProps(this, 'namePrefix', props.namePrefix, `a name prefix that ${prefixProblem}`);
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(props.environment)) {
      invalidProps(this, 'environment', props.environment, 'a CES dimension value: 1-64 letters, digits, "_" or "-", starting with a letter or digit');
    }
    this.fulcioErrorsPerMinute = props.fulcioErrorsPerMinute ?? 1;
    if (!(this.fulcioErrorsPerMinute > 0) || !Number.isFinite(this.fulcioErrorsPerMinute)) {
      invalidProps(this, 'fulcioErrorsPerMinute', this.fulcioErrorsPerMinute, 'a number of errors per minute greater than 0');
    }
    this.tsaLatencyMs = wholeNumberIn(this, 'tsaLatencyMs', props.tsaLatencyMs ?? 2000, 1, 600000);
    const tags = { ...(props.tags ?? {}) };
    for (const [key, value] of Object.entries(tags)) {
      const problem = tagProblem(key, value);
      if (problem) invalidProps(this, `tags.${key}`, value, problem);
    }

    this.topic = withLogicalId(
      new SmnTopicV2(this, 'Topic', { name: `${props.namePrefix}-alarms`, displayName: `Sigstore ${props.environment} alarms`, tags }),
      LOGICAL_IDS.alarmTopic,
    );
    this.subscriptions = this.subscribe(props.subscriptions ?? []);

    const notify = [{ type: 'notification', notificationList: [this.topic.topicUrn] }];
    const alarm = (construct: string, logicalId: string, suffix: string, description: string, metric: CesAlarmruleMetric, condition: ConditionProps) =>
      withLogicalId(
        new CesAlarmrule(this, construct, {
          alarmName: `${props.namePrefix}-${suffix}`,
          alarmDescription: description,
          alarmLevel: 2,
          alarmEnabled: true,
          alarmActionEnabled: true,
          metric,
          condition: makeCondition(condition),
          alarmActions: notify,
          okActions: notify,
        }),
        logicalId,
      );

    const loadBalancer = props.loadBalancer;
    if (loadBalancer) {
      for (const prop of ['id', 'fulcioListenerId', 'tsaListenerId'] as const) {
        const value = loadBalancer[prop];
        if (value !== undefined && !UUID.test(value)) invalidProps(this, `loadBalancer.${prop}`, value, 'a lowercase UUID');
      }
      this.fulcioErrorRate = alarm(
        'FulcioIssuanceErrorRate',
        LOGICAL_IDS.fulcioErrorRateAlarm,
        'fulcio-issuance-error-rate',
        `Fulcio 5xx responses above ${this.fulcioErrorsPerMinute}/min for ${SUSTAINED_MINUTES} min`,
        elbMetric(ELB_METRICS.http5xx, loadBalancer.id, loadBalancer.fulcioListenerId),
        // The metric is a rate per second.
        { comparisonOperator: '>', value: this.fulcioErrorsPerMinute / 60, filter: 'average' },
      );
      this.tsaLatency = alarm(
        'TsaLatencyP99',
        LOGICAL_IDS.tsaLatencyAlarm,
        'tsa-latency-p99',
        `TSA response time above ${this.tsaLatencyMs} ms for ${SUSTAINED_MINUTES} min (per-minute maximum, an upper bound of the p99)`,
        elbMetric(ELB_METRICS.responseTimeMax, loadBalancer.id, loadBalancer.tsaListenerId),
        { comparisonOperator: '>', value: this.tsaLatencyMs, filter: 'max', unit: 'ms' },
      );
    }
  }

  private subscribe(subscriptions: readonly AlarmSubscription[]): SmnSubscriptionV2[] {
    const names = new Set<string>();
    return subscriptions.map((subscription, index) => {
      const nameProblem = subscriptionNameProblem(subscription.name);
      if (nameProblem) invalidProps(this, `subscriptions[${index}].name`, subscription.name, `a name that ${nameProblem}`);
      if (names.has(subscription.name)) invalidProps(this, `subscriptions[${index}].name`, subscription.name, 'a name no other subscription has');
      names.add(subscription.name);
      if (!SMN_PROTOCOLS.includes(subscription.protocol)) {
        invalidProps(this, `subscriptions[${index}].protocol`, subscription.protocol, SMN_PROTOCOLS.join(', '));
      }
      const endpointProblem = smnEndpointProblem(subscription.protocol, subscription.endpoint);
      if (endpointProblem) invalidProps(this, `subscriptions[${index}].endpoint`, subscription.endpoint, endpointProblem.replace(/^expected /, ''));
      return withLogicalId(
        new SmnSubscriptionV2(this, `Subscription-${subscription.name}`, {
          topicUrn: this.topic.topicUrn,
          protocol: subscription.protocol,
          endpoint: subscription.endpoint,
          remark: `sigstore-cdk alarms: ${subscription.name}`,
        }),
        alarmSubscriptionId(subscription.name),
      );
    });
  }
}

interface ConditionProps {
  readonly comparisonOperator: '>' | '>=' | '<' | '<=' | '=';
  readonly value: number;
  readonly filter: 'max' | 'min' | 'average' | 'sum' | 'variance';
  readonly unit?: string;
  /** Consecutive periods. @default 5 */
  readonly count?: number;
}

function makeCondition(props: ConditionProps): CesAlarmruleCondition {
  return {
    period: RAW_DATA,
    filter: props.filter,
    comparisonOperator: props.comparisonOperator,
    value: props.value,
    count: props.count ?? SUSTAINED_MINUTES,
    ...(props.unit ? { unit: props.unit } : {}),
  };
}

/** An ELB metric of the load balancer, or of one of its listeners. */
function elbMetric(metricName: string, loadBalancerId: string, listenerId: string | undefined): CesAlarmruleMetric {
  return {
    namespace: 'SYS.ELB',
    metricName,
    dimensions: [listenerId ? { name: 'lbaas_listener_id', value: listenerId } : { name: 'lbaas_instance_id', value: loadBalancerId }],
  };
}
