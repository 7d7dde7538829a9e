import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCliCaptured } from '../helpers/cli';
import { useTempDirectory } from '../helpers/temp-directory';
import { connectTo, credentialEnvironment, FAKE, FAKE_SECRETS, instantRetries, startEmulator, writeKmsEnvironment } from './kms-fixture';
import type { KmsEmulator } from './kms-emulator';

/*
 * A 3xx from IAM or KMS means the endpoint is wrong (a moved API, a proxy's login page). It is a
 * configuration error: reported at once, never retried, and never followed, because following it
 * would send the AK/SK signature, the token or the password to another host.
 */
describe('a redirect from IAM or KMS', () => {
  const temp = useTempDirectory();
  let emulator: KmsEmulator;
  let trap: { server: Server; url: string; requests: IncomingMessage[] };

  beforeEach(async () => {
    emulator = await startEmulator();
    trap = await startTrap();
  });
  afterEach(async () => {
    await emulator.stop();
    trap.server.closeAllConnections();
    await new Promise((resolve) => trap.server.close(resolve));
  });

  it('from KMS fails at once with OTC_ENDPOINT_REDIRECTED naming the endpoint, the status and the Location, and is not followed', async () => {
    const retries = instantRetries();
    emulator.inject({ api: 'list-keys', status: 301, location: `${trap.url}/v1.0/elsewhere/kms/list-keys`, times: 10 });
    const error = await connectTo(emulator, 'access-key', { http: retries.options })
      .kms.listKeys()
      .catch((caught) => caught);
    expect(error).toMatchObject({ code: 'OTC_ENDPOINT_REDIRECTED', exitCode: 2, details: { operation: 'kms list-keys', httpStatus: 301 } });
    expect(error.message).toContain(`KMS list-keys: ${emulator.kmsEndpoint} answered HTTP 301, a redirect to ${trap.url}/v1.0/elsewhere/kms/list-keys`);
    expect(error.message).toContain('otc.endpoints.kms');
    expect(error.message).not.toContain('unreachable');
    expect(emulator.callCounts()['kms list-keys']).toBe(1); // not retried
    expect(retries.delays).toEqual([]);
    expect(trap.requests).toHaveLength(0); // not followed: the signature never left for another host
  });

  it('from IAM (307, which would resend the password) fails the same way and sends nothing to the other host', async () => {
    emulator.inject({ api: 'auth/tokens', status: 307, location: `${trap.url}/v3/auth/tokens` });
    const error = await connectTo(emulator, 'password')
      .kms.listKeys()
      .catch((caught) => caught);
    expect(error).toMatchObject({ code: 'OTC_ENDPOINT_REDIRECTED', details: { operation: 'iam auth/tokens', httpStatus: 307 } });
    expect(error.message).toContain(`${emulator.iamEndpoint} answered HTTP 307, a redirect to ${trap.url}/v3/auth/tokens`);
    expect(error.message).toContain('otc.endpoints.iam');
    expect(emulator.callCounts()).toEqual({ 'iam auth/tokens': 1 });
    expect(trap.requests).toHaveLength(0);
  });

  it('names a relative Location as an absolute URL, and a 3xx without Location too', async () => {
    emulator.inject({ api: 'list-keys', status: 302, location: '/login?next=%2Fkms' });
    const relative = await connectTo(emulator).kms.listKeys().catch((caught) => caught);
    expect(relative.message).toContain(`answered HTTP 302, a redirect to ${emulator.kmsEndpoint}/login?next=%2Fkms`);
    emulator.inject({ api: 'list-keys', status: 308 });
    const bare = await connectTo(emulator).kms.listKeys().catch((caught) => caught);
    expect(bare).toMatchObject({ code: 'OTC_ENDPOINT_REDIRECTED', details: { httpStatus: 308 } });
    expect(bare.message).toContain('answered HTTP 308, a redirect without a Location');
  });

  it('redacts credentials in the Location: user info, the token it echoes, credential-like query values', async () => {
    emulator.inject({
      api: 'list-keys',
      status: 302,
      location: (request) =>
        `http://operator:${FAKE.password}@${new URL(trap.url).host}/sso?X-Auth-Token=${encodeURIComponent(String(request.headers['x-auth-token']))}&session=abc123def456&region=eu-de`,
    });
    const error = await connectTo(emulator, 'password')
      .kms.listKeys()
      .catch((caught) => caught);
    expect(error).toMatchObject({ code: 'OTC_ENDPOINT_REDIRECTED' });
    const [token] = emulator.issuedTokens();
    expect(token).toBeDefined();
    for (const secret of [token, encodeURIComponent(token), token.slice(0, 24), FAKE.password, 'abc123def456']) expect(error.message).not.toContain(secret);
    expect(error.message).toContain(`a redirect to http://[redacted]@${new URL(trap.url).host}/sso?X-Auth-Token=[redacted]&session=[redacted]&region=eu-de`);
    expect(trap.requests).toHaveLength(0);
  });

  it('makes the CLI exit 2 (a configuration error) with the code in --json', async () => {
    const envsDir = writeKmsEnvironment(temp(), emulator);
    emulator.inject({ api: 'list-keys', status: 301, location: `${trap.url}/kms` });
    const run = await runCliCaptured(['keys', 'ensure', '--env', 'kms', '--envs-dir', envsDir, '--json'], {
      environment: credentialEnvironment('access-key'),
      kms: { http: instantRetries().options },
    });
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout).error).toMatchObject({ code: 'OTC_ENDPOINT_REDIRECTED', message: expect.stringContaining('otc.endpoints.kms') });
    expect(run.stderr).toContain(`error [OTC_ENDPOINT_REDIRECTED]: KMS list-keys: ${emulator.kmsEndpoint} answered HTTP 301, a redirect to ${trap.url}/kms`);
    for (const secret of FAKE_SECRETS) expect(run.stdout + run.stderr).not.toContain(secret);
    expect(trap.requests).toHaveLength(0);
  });
});

/** A loopback server that records every request (there should be none). */
async function startTrap(): Promise<{ server: Server; url: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((request, response) => {
    requests.push(request);
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.end('{"keys":[],"key_details":[],"truncated":"false"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}
