/**
 * A function of (trust material, configuration) computed once per pair of objects: a synth builds
 * the TUF targets (and the trusted root inside them) for the bootstrap's TUF step, the published-trust
 * check, the repository check and dist/trust/ from the same two objects. Keyed by identity, so a
 * changed configuration (a new object) is a new entry, and entries go with their objects.
 */
export function memoizedByMaterialAndConfig<M extends object, C extends object, R>(compute: (material: M, config: C) => R): (material: M, config: C) => R {
  const results = new WeakMap<M, WeakMap<C, R>>();
  return (material, config) => {
    let byConfig = results.get(material);
    if (!byConfig) {
      byConfig = new WeakMap();
      results.set(material, byConfig);
    }
    if (byConfig.has(config)) return byConfig.get(config)!;
    const result = compute(material, config);
    byConfig.set(config, result);
    return result;
  };
}
