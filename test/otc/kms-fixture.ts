import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SigstoreConfig } from '../../lib/config/schema';
import type { KmsClient } from '../../lib/otc/kms-client';
import { connectKms, type KmsConnection, type KmsConnectionOptions } from '../../lib/otc/kms-connection';
import { openPasswordsFor } from '../../lib/custody/state-keyring';
import { StateStore, type StateSnapshot } from '../../lib/state/store';
import { configFromYaml } from '../helpers/config';
import { KmsEmulator, type KmsEmulatorOptions } from './kms-emulator';

/*
 * Shared setup for tests that talk to the KMS emulator: recognizable fake credentials (so that a test
 * can grep every output for them), an otc-kms environment pointing at the emulator, and an HTTP
 * transport that does not really sleep between retries.
 */

export const PROJECT_ID = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

/** Fake credentials, distinctive enough to grep for. Never real ones. */
export const FAKE = {
  accessKey: 'AKCANARY7Q2LEAKTEST01',
  secretKey: 'SKcanary-3f9b2c-must-never-appear-91aa',
  temporaryAccessKey: 'AKCANARYTEMP9X4LEAKTEST',
  temporarySecretKey: 'SKcanary-temporary-8c21-must-never-appear',
  securityToken: 'STcanary-temporary-token-5e4d-never-logged',
  username: 'ceremony-operator',
  password: 'PWcanary-7d1e55-must-never-appear',
  domainName: 'OTC-EU-DE-00000000001000099999',
} as const;

export const FAKE_SECRETS = [FAKE.secretKey, FAKE.temporarySecretKey, FAKE.securityToken, FAKE.password, FAKE.accessKey, FAKE.temporaryAccessKey];

/** OS_* variables for AK/SK, temporary AK/SK (with OS_SECURITY_TOKEN) or a password. */
export function credentialEnvironment(kind: 'access-key' | 'temporary-access-key' | 'password' | 'none'): NodeJS.ProcessEnv {
  if (kind === 'access-key') return { OS_ACCESS_KEY: FAKE.accessKey, OS_SECRET_KEY: FAKE.secretKey };
  if (kind === 'temporary-access-key') {
    return { OS_ACCESS_KEY: FAKE.temporaryAccessKey, OS_SECRET_KEY: FAKE.temporarySecretKey, OS_SECURITY_TOKEN: FAKE.securityToken };
  }
  if (kind === 'password') return { OS_USERNAME: FAKE.username, OS_PASSWORD: FAKE.password, OS_USER_DOMAIN_NAME: FAKE.domainName };
  return {};
}

export function startEmulator(options: Partial<KmsEmulatorOptions> = {}): Promise<KmsEmulator> {
  return KmsEmulator.start({
    projectId: PROJECT_ID,
    users: [{ name: FAKE.username, password: FAKE.password, domainName: FAKE.domainName }],
    accessKeys: [
      { accessKey: FAKE.accessKey, secretKey: FAKE.secretKey },
      { accessKey: FAKE.temporaryAccessKey, secretKey: FAKE.temporarySecretKey, securityToken: FAKE.securityToken },
    ],
    ...options,
  });
}

export const FULCIO_ALIAS = 'sigstore-fulcio-root-g1';
export const TSA_ALIAS = 'sigstore-tsa-root-g1';
export const TUF_ALIAS = 'sigstore-tuf-root-g1';

/** The environment file of an otc-kms environment whose endpoints are the emulator. */
export function kmsEnvironmentYaml(emulator: KmsEmulator, extra = ''): string {
  return [
    'organization: Test Org',
    'signer: otc-kms',
    'otc:',
    '  region: eu-de',
    `  projectId: ${PROJECT_ID}`,
    '  endpoints:',
    `    iam: ${emulator.iamEndpoint}`,
    `    kms: ${emulator.kmsEndpoint}`,
    '  requests:',
    '    timeoutSeconds: 5',
    '    maxRetries: 3',
    '  kms:',
    `    fulcioRootKeyAlias: ${FULCIO_ALIAS}`,
    `    tsaRootKeyAlias: ${TSA_ALIAS}`,
    `    tufRootKeyAlias: ${TUF_ALIAS}`,
    extra,
  ].join('\n');
}

export function kmsConfig(emulator: KmsEmulator, env = 'kms', extra = ''): SigstoreConfig {
  return configFromYaml(kmsEnvironmentYaml(emulator, extra), env);
}

/** Writes `<dir>/envs/<env>.yaml` for CLI tests; returns the envs directory. */
export function writeKmsEnvironment(directory: string, emulator: KmsEmulator, env = 'kms', extra = ''): string {
  const envsDir = join(directory, 'envs');
  mkdirSync(envsDir, { recursive: true });
  writeFileSync(join(envsDir, `${env}.yaml`), kmsEnvironmentYaml(emulator, extra));
  return envsDir;
}

/** Retries without waiting; the delays asked for are recorded. */
export function instantRetries(): { options: KmsConnectionOptions['http'] & object; delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    options: {
      sleep: async (ms: number) => {
        delays.push(ms);
      },
      random: () => 0.5,
    },
  };
}

/** A KMS connection to the emulator as the `kms` environment configures it, retrying without waiting. */
export function connectTo(
  emulator: KmsEmulator,
  auth: Parameters<typeof credentialEnvironment>[0] = 'access-key',
  options: Omit<KmsConnectionOptions, 'environment'> = {},
): KmsConnection {
  return connectKms(kmsConfig(emulator).otc!, { http: instantRetries().options, ...options, environment: credentialEnvironment(auth) });
}

/** A fresh emulator per test (started before, stopped after it), with a KMS client on it (AK/SK). */
export function useKmsEmulator(options: Partial<KmsEmulatorOptions> = {}): { readonly emulator: KmsEmulator; readonly kms: KmsClient } {
  let current: { emulator: KmsEmulator; kms: KmsClient } | undefined;
  beforeEach(async () => {
    const emulator = await startEmulator(options);
    current = { emulator, kms: connectTo(emulator).kms };
  });
  afterEach(async () => {
    await current?.emulator.stop();
    current = undefined;
  });
  const get = () => {
    if (!current) throw new Error('useKmsEmulator: only available inside a test');
    return current;
  };
  return {
    get emulator() {
      return get().emulator;
    },
    get kms() {
      return get().kms;
    },
  };
}

/** How a command reaches the emulator (AK/SK, retries without waiting): the `kms` option of synth, tuf refresh, rotate. */
export function emulatorAccess(auth: Parameters<typeof credentialEnvironment>[0] = 'access-key'): KmsConnectionOptions {
  return { environment: credentialEnvironment(auth), http: instantRetries().options };
}

/** The state of an otc-kms environment, loaded and with its sealed passwords opened through the emulator (as synth does). */
export async function loadOpenedState(config: SigstoreConfig, stateRoot: string): Promise<StateSnapshot> {
  const store = new StateStore({ root: stateRoot, env: config.env });
  const snapshot = await store.load();
  await openPasswordsFor(config, snapshot, store.directory, { kms: emulatorAccess() });
  return snapshot;
}
