import { ConfigError } from '../errors';
import { checkConfig, formatProblems, markValidated, passedValidation, requireEnvName, toProblems } from './load';
import type { SigstoreConfig } from './schema';

/**
 * Checks a configuration object with the same rules as the environment file (the schema, the
 * cross-field rules, the rules the cluster chart and Fulcio would apply), and throws one ConfigError
 * naming every bad field (exit code 2).
 *
 * `loadConfig` already does this; every command that writes state or output calls it again first,
 * so a configuration built in code (the API, the cdk8s app, tests) cannot mint a PKI and then fail
 * on a chart-level check: "validate everything, then write".
 */
export function validateConfig(config: SigstoreConfig): void {
  // A run validates the same object at each step; what passed is not parsed again while its content
  // (compared as JSON, so a change made in place counts) is what passed.
  if (passedValidation(config)) return;
  const { env, ...fields } = config;
  requireEnvName(env);
  const { issues } = checkConfig(fields);
  if (issues.length === 0) {
    markValidated(config);
    return;
  }
  const problems = issues.flatMap((issue) => toProblems(issue, undefined, fields));
  throw new ConfigError(
    'CONFIG_INVALID',
    formatProblems(`environment "${env}"`, `has ${problems.length} invalid field${problems.length === 1 ? '' : 's'}`, problems),
    problems,
  );
}
