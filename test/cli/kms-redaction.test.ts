import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { runCliCaptured, type CliRun } from '../helpers/cli';
import { childEnvironment } from '../helpers/cli-process';
import { useTempDirectory } from '../helpers/temp-directory';
import { credentialEnvironment, FAKE, FAKE_SECRETS, instantRetries, startEmulator, writeKmsEnvironment } from '../otc/kms-fixture';
import type { KmsEmulator } from '../otc/kms-emulator';

/*
 * A KMS (or gateway) error body that echoes the request's credentials — the IAM token, the AK/SK
 * Authorization header with its signature, the security token — must not reach stdout or stderr,
 * in --json or not, while the error still says which call failed and how.
 */
describe('credentials echoed by KMS never reach the output', () => {
  const temp = useTempDirectory();
  let emulator: KmsEmulator;
  let envsDir: string;

  beforeEach(async () => {
    emulator = await startEmulator();
    envsDir = writeKmsEnvironment(temp(), emulator);
  });
  afterEach(() => emulator.stop());

  const cli = (args: string[], environment: NodeJS.ProcessEnv): Promise<CliRun> =>
    runCliCaptured([...args, '--envs-dir', envsDir], { environment, kms: { http: instantRetries().options } });

  /**
   * Every value the process held or sent as a credential (and any 16-character piece of a long one):
   * the fake credentials, every token IAM issued, and what the emulator echoed — the tokens, and of an
   * Authorization header its access key and signature (the rest of it is not secret).
   */
  function expectNoSecretIn(output: string): void {
    const echoed = emulator.echoed.flatMap((value) => {
      const authorization = /^SDK-HMAC-SHA256 Access=([^,]+), SignedHeaders=[^,]+, Signature=([0-9a-f]{64})$/.exec(value);
      return authorization ? [authorization[1], authorization[2]] : [value];
    });
    const secrets = [...FAKE_SECRETS, ...emulator.issuedTokens(), ...echoed];
    for (const secret of secrets) {
      expect(output).not.toContain(secret);
      for (let start = 0; start + 16 <= secret.length; start += 8) expect(output).not.toContain(secret.slice(start, start + 16));
    }
  }

  it('an IAM token (a renewed one too) echoed in a KMS error: not on stderr, not in --json, and the error still names the call', async () => {
    // The first token expires (KMS.0303) and is renewed; KMS then rejects the call echoing the new token.
    emulator.inject({ api: 'list-keys', expireTokens: true });
    emulator.inject({ api: 'list-keys', status: 400, errorCode: 'KMS.0308', echoCredentials: true });
    const run = await cli(['keys', 'ensure', '--env', 'kms', '--json'], credentialEnvironment('password'));
    expect(run.code).toBe(4);
    const tokens = emulator.issuedTokens();
    expect(tokens).toHaveLength(2);
    expect(emulator.echoed).toEqual([tokens[1]]); // the renewed token was echoed
    const { error } = JSON.parse(run.stdout);
    expect(error.code).toBe('KMS_REQUEST_REJECTED');
    expect(error.message).toContain('KMS list-keys failed: HTTP 400 KMS.0308 Invalid parameter. (request headers: x-auth-token: [redacted])');
    expect(run.stderr).toContain('error [KMS_REQUEST_REJECTED]: KMS list-keys failed: HTTP 400 KMS.0308');
    expect(run.stderr).toContain('warning: KMS list-keys: credential expired, renewed; retrying');
    expectNoSecretIn(run.stdout + run.stderr);
  });

  it('a temporary AK/SK request echoed back (AK, signature, security token): none of them is printed', async () => {
    emulator.inject({ api: 'list-keys', status: 403, errorCode: 'KMS.0306', echoCredentials: true });
    const run = await cli(['keys', 'ensure', '--env', 'kms', '--json'], credentialEnvironment('temporary-access-key'));
    expect(run.code).toBe(4);
    expect(emulator.echoed).toHaveLength(2);
    expect(emulator.echoed.join(' ')).toContain(`Access=${FAKE.temporaryAccessKey}`);
    const { error } = JSON.parse(run.stdout);
    expect(error).toMatchObject({ code: 'OTC_PERMISSION_DENIED' });
    expect(error.message).toContain('KMS list-keys failed: HTTP 403 KMS.0306 No access permissions.');
    expect(error.message).toMatch(/authorization: SDK-HMAC-SHA256 Access=\[redacted\], SignedHeaders=[a-z;-]+, Signature=\[redacted\]; x-security-token: \[redacted\]/);
    expectNoSecretIn(run.stdout + run.stderr);
  });

  it('a plain-text error body echoing the token is redacted before it is shortened (no piece of the token survives)', async () => {
    emulator.inject({ api: 'list-keys', status: 400, plainTextBody: true, echoCredentials: true, errorMessage: 'padding '.repeat(15) });
    const run = await cli(['keys', 'ensure', '--env', 'kms'], credentialEnvironment('password'));
    expect(run.code).toBe(4);
    expect(emulator.echoed).toHaveLength(1);
    expect(run.stderr).toContain('KMS list-keys failed: HTTP 400 KMS.0101 padding');
    expectNoSecretIn(run.stderr);
  });

  it('in a real process too: stdout (--json) and stderr hold no credential', async () => {
    emulator.inject({ api: 'list-keys', expireTokens: true });
    emulator.inject({ api: 'list-keys', status: 400, errorCode: 'KMS.0308', echoCredentials: true });
    const root = join(__dirname, '..', '..');
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [join(root, 'bin', 'sigstore-cdk.js'), 'keys', 'ensure', '--env', 'kms', '--envs-dir', envsDir, '--json'],
        { cwd: temp(), env: childEnvironment({ HOME: temp(), ...credentialEnvironment('password') }), timeout: 30_000 },
        (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
      );
    });
    expect(result.code).toBe(4);
    expect(emulator.echoed).toHaveLength(1);
    expect(JSON.parse(result.stdout).error.message).toContain('KMS list-keys failed: HTTP 400 KMS.0308 Invalid parameter.');
    expect(result.stderr).toContain('error [KMS_REQUEST_REJECTED]');
    expectNoSecretIn(result.stdout + result.stderr);
  });
});
