/**
 * The Prometheus scrape annotations of a pod whose metrics are on `port`: the convention of the
 * `kubernetes-pods` job of Prometheus' example configuration (and of the upstream Helm charts, which
 * put them on the pods). On the pods only, so that a scraper with both the pod and the
 * service-endpoint jobs reads each target once; the ServiceMonitor uses the Services' metrics ports.
 */
export function prometheusAnnotations(port: number): Record<string, string> {
  return { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics' };
}
