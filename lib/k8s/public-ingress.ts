import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { dnsSubdomainProblem, publicHostnameProblem } from '../config/field-rules';
import { NetworkWiring, serviceEndpoint } from './network-wiring';
import { requireName, requireProp, requireRule } from './prop-validation';

export interface PublicIngressProps {
  /** The Ingress name (the Service's). */
  readonly name: string;
  readonly hostname: string;
  /** The Service, on its port 80. */
  readonly service: kplus.Service;
  readonly ingressClassName: string;
  /** TLS Secret for the host (created by the operator or cert-manager). @default - plain HTTP */
  readonly tlsSecretName?: string;
}

/** An Ingress for one public hostname: every path to the Service's port 80, TLS when a Secret is named. */
export class PublicIngress extends Construct {
  constructor(scope: Construct, id: string, props: PublicIngressProps) {
    super(scope, id);
    requireName(this, 'name', props.name);
    requireRule(this, 'hostname', props.hostname, publicHostnameProblem);
    requireRule(this, 'ingressClassName', props.ingressClassName, dnsSubdomainProblem);
    if (props.tlsSecretName !== undefined) requireName(this, 'tlsSecretName', props.tlsSecretName);
    // The controller's pods reach the Service's pods on the port behind Service port 80.
    const http = props.service.ports.find((port) => port.port === 80);
    requireProp(this, http?.name !== undefined, 'service', props.service.name, 'a component Service with a named port 80');
    NetworkWiring.of(this).admitIngressController(serviceEndpoint(props.service, http!.name!), props.hostname);
    new kplus.Ingress(this, 'Ingress', {
      metadata: { name: props.name },
      className: props.ingressClassName,
      rules: [
        {
          host: props.hostname,
          path: '/',
          pathType: kplus.HttpIngressPathType.PREFIX,
          backend: kplus.IngressBackend.fromService(props.service, { port: 80 }),
        },
      ],
      tls: props.tlsSecretName
        ? [{ hosts: [props.hostname], secret: kplus.Secret.fromSecretName(this, 'TlsSecret', props.tlsSecretName) }]
        : undefined,
    });
  }
}
