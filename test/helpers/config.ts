import { parseConfigText } from '../../lib/config/load';
import type { SigstoreConfig } from '../../lib/config/schema';
import { ConfigError } from '../../lib/errors';

/** A validated config from YAML text, as if read from envs/<env>.yaml. */
export function configFromYaml(text: string, env = 'test'): SigstoreConfig {
  return { ...parseConfigText(text, `envs/${env}.yaml`), env };
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
