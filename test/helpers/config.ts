import { parseConfigText } from '../../lib/config/load';
import type { SigstoreConfig } from '../../lib/config/schema';
import { ConfigError } from '../../lib/errors';
import { copyOfPlainData } from './frozen';

/**
 * Each text's validated config, parsed once per module registry (a test file, or a grouped suite):
 * parseConfigText is pure and the tests build the same few configs hundreds of times (1 s of a run's
 * CPU). Each call gets a copy of its own: tests change configs in place.
 */
const parsedConfigs = new Map<string, SigstoreConfig>();

/** A validated config from YAML text, as if read from envs/<env>.yaml. */
export function configFromYaml(text: string, env = 'test'): SigstoreConfig {
  const key = `${env}\n${text}`;
  let config = parsedConfigs.get(key);
  if (config === undefined) {
    config = { ...parseConfigText(text, `envs/${env}.yaml`), env };
    parsedConfigs.set(key, config);
  }
  return copyOfPlainData(config);
}

/** The dev defaults with a fixed organization. */
export function devConfig(env = 'test'): SigstoreConfig {
  return configFromYaml('organization: Test Org\nsigner: local\n', env);
}

/** A fixed clock (no wall-clock time reaches a snapshot). */
export function fixedClock(iso = '2026-01-01T00:00:00Z'): () => Date {
  return () => new Date(iso);
}

/** The ConfigError that YAML text (as envs/bad.yaml) is refused with; fails the test when it is accepted. */
export function configError(text: string): ConfigError {
  try {
    parseConfigText(text, 'envs/bad.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for:\n${text}`);
}
