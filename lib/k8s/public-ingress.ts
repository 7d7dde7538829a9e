import { kplus } from './kplus';
import { Construct } from 'constructs';
import { annotationProblem, dnsSubdomainProblem, publicHostnameProblem } from '../config/field-rules';
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
  /** The Service port the Ingress routes to, by name. @default - the Service's port 80 */
  readonly servicePortName?: string;
  /** Annotations of the Ingress (cert-manager issuer, body size, backend protocol). @default {} */
  readonly annotations?: Readonly<Record<string, string>>;
  /**
   * Path prefixes that go to another Service (its port 80) on the same host: a tile-based log beside
   * the Trillian-backed log it replaces (`/api/v2` to Rekor v2). The longest matching prefix wins
   * (Kubernetes Ingress, pathType Prefix). @default - none
   */
  readonly extraPaths?: readonly { readonly path: string; readonly service: kplus.Service }[];
}

/** An Ingress for one public hostname: every path to the Service's port 80, TLS when a Secret is named. */
export class PublicIngress extends Construct {
  constructor(scope: Construct, id: string, props: PublicIngressProps) {
    super(scope, id);
    requireName(this, 'name', props.name);
    requireRule(this, 'hostname', props.hostname, publicHostnameProblem);
    requireRule(this, 'ingressClassName', props.ingressClassName, dnsSubdomainProblem);
    if (props.tlsSecretName !== undefined) requireName(this, 'tlsSecretName', props.tlsSecretName);
    // The controller's pods reach the Service's pods on the port behind the Service port.
    const target = props.service.ports.find((port) => (props.servicePortName === undefined ? port.port === 80 : port.name === props.servicePortName));
    requireProp(this, target?.name !== undefined, 'service', props.service.name, props.servicePortName === undefined ? 'a component Service with a named port 80' : `a Service with a port named "${props.servicePortName}"`);
    for (const [key, value] of Object.entries(props.annotations ?? {})) requireRule(this, `annotations.${key}`, value, () => annotationProblem(key, value));
    NetworkWiring.of(this).admitIngressController(serviceEndpoint(props.service, target!.name!), props.hostname);
    const extraPaths = (props.extraPaths ?? []).map((extra, index) => {
      requireProp(this, /^\/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-]$/.test(extra.path), `extraPaths[${index}].path`, extra.path, 'an absolute URL path such as "/api/v2"');
      const port = extra.service.ports.find((candidate) => candidate.port === 80);
      requireProp(this, port?.name !== undefined, `extraPaths[${index}].service`, extra.service.name, 'a component Service with a named port 80');
      NetworkWiring.of(this).admitIngressController(serviceEndpoint(extra.service, port!.name!), props.hostname);
      return { host: props.hostname, path: extra.path, pathType: kplus.HttpIngressPathType.PREFIX, backend: kplus.IngressBackend.fromService(extra.service, { port: 80 }) };
    });
    const annotations = props.annotations && Object.keys(props.annotations).length > 0 ? { ...props.annotations } : undefined;
    new kplus.Ingress(this, 'Ingress', {
      metadata: { name: props.name, ...(annotations ? { annotations } : {}) },
      className: props.ingressClassName,
      rules: [
        {
          host: props.hostname,
          path: '/',
          pathType: kplus.HttpIngressPathType.PREFIX,
          backend: kplus.IngressBackend.fromService(props.service, { port: target!.port }),
        },
        ...extraPaths,
      ],
      tls: props.tlsSecretName
        ? [{ hosts: [props.hostname], secret: kplus.Secret.fromSecretName(this, 'TlsSecret', props.tlsSecretName) }]
        : undefined,
    });
  }
}
