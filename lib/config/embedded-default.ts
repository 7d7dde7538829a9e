/**
 * The embedded default environment, `dev`: what `npm run synth` uses on a fresh clone. It lives in
 * the code so that it works without any environment file; `envs/dev.yaml` holds the same text to
 * document it (a test keeps the two identical). A `envs/dev.yaml` that differs, once edited, wins.
 */
export const EMBEDDED_DEFAULT_ENV = 'dev';

/** The text of the embedded default environment (the same bytes as the shipped `envs/dev.yaml`). */
export const EMBEDDED_DEFAULT_YAML = `# The embedded default environment: no cloud account, the local signer, in-cluster MySQL, one
# replica of everything. \`npm run synth\` uses it. It is built into the code (lib/config/embedded-default.ts),
# so it works without this file; this file documents it, and once edited it replaces it.
# envs/prd.example.yaml documents every field.
organization: sigstore-cdk dev
signer: local
cluster:
  namespace: sigstore-system
`;

/** Where the embedded default is said to come from in messages. */
export const EMBEDDED_DEFAULT_SOURCE = 'the embedded default environment (lib/config/embedded-default.ts)';
