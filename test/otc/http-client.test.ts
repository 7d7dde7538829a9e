import { createServer } from 'node:net';
import { OtcError } from '../../lib/errors';
import { OtcHttpClient, parseServiceError, type RetryNotice } from '../../lib/otc/http-client';
import { connectKms } from '../../lib/otc/kms-connection';
import { credentialEnvironment, FAKE_SECRETS, instantRetries, kmsConfig, startEmulator } from './kms-fixture';
import type { KmsEmulator } from './kms-emulator';

describe('OtcHttpClient against the emulator', () => {
  let emulator: KmsEmulator;
  beforeEach(async () => {
    emulator = await startEmulator();
  });
  afterEach(() => emulator.stop());

  function connect(retries = instantRetries(), notices: RetryNotice[] = [], extraYaml = '') {
    const config = kmsConfig(emulator, 'kms', extraYaml);
    return connectKms(config.otc!, { environment: credentialEnvironment('access-key'), http: retries.options, onRetry: (notice) => notices.push(notice) });
  }

  it('retries a 429 with jittered exponential backoff, honouring Retry-After, and then succeeds', async () => {
    const retries = instantRetries();
    const notices: RetryNotice[] = [];
    emulator.inject({ api: 'list-keys', status: 429, times: 2 });
    emulator.inject({ api: 'describe-key', status: 429, retryAfterSeconds: 3 });
    const { kms } = connect(retries, notices);
    expect(await kms.listKeys()).toEqual([]);
    // Full jitter with random() = 0.5: half of 500 ms, then half of 1000 ms.
    expect(retries.delays).toEqual([250, 500]);
    expect(notices.map((notice) => [notice.reason, notice.attempt, notice.maxAttempts])).toEqual([
      ['HTTP 429', 1, 4],
      ['HTTP 429', 2, 4],
    ]);
    const keyId = emulator.seedKey({ alias: 'a', keySpec: 'EC_P256' });
    await kms.describeKey(keyId);
    expect(retries.delays[2]).toBe(3000); // Retry-After beats the jittered 250 ms
    expect(emulator.calls.filter((call) => call.api === 'list-keys').map((call) => call.status)).toEqual([429, 429, 200]);
  });

  it('ends repeated 500s after maxRetries with OTC_UNAVAILABLE naming the call, the status and the attempts', async () => {
    emulator.inject({ api: 'list-keys', status: 500, times: 10 });
    const { kms } = connect();
    const error = await kms.listKeys().catch((caught) => caught);
    expect(error).toBeInstanceOf(OtcError);
    expect(error).toMatchObject({ code: 'OTC_UNAVAILABLE', exitCode: 4, details: { operation: 'kms list-keys', httpStatus: 500, serviceCode: 'KMS.0101' } });
    expect(error.message).toContain('KMS list-keys failed after 4 attempts: HTTP 500 KMS.0101 KMS error.');
    expect(error.message).toMatch(/request id [0-9a-f]{32}/);
    expect(emulator.calls.filter((call) => call.api === 'list-keys')).toHaveLength(4); // maxRetries: 3 in the fixture
  });

  it('treats an HTML 502 from a gateway as retryable and reports it readably', async () => {
    emulator.inject({ api: 'list-keys', status: 502, times: 10 });
    const error = await connect().kms.listKeys().catch((caught) => caught);
    expect(error).toMatchObject({ code: 'OTC_UNAVAILABLE', details: { httpStatus: 502 } });
    expect(error.message).toContain('HTTP 502 <html><body>Bad Gateway</body></html>');
  });

  it('does not retry a 4xx: it maps the KMS error code to an action', async () => {
    const error = await connect().kms.describeKey('00000000-0000-0000-0000-000000000000').catch((caught) => caught);
    expect(error).toMatchObject({ code: 'KMS_KEY_NOT_FOUND', details: { httpStatus: 404, serviceCode: 'KMS.0207' } });
    expect(error.message).toContain('no such key in this project');
    expect(emulator.calls.filter((call) => call.api === 'describe-key')).toHaveLength(1);
  });

  it('times out a slow answer, retries, and reports OTC_TIMEOUT when every attempt is slow', async () => {
    emulator.inject({ api: 'list-keys', delayMs: 1500, times: 10 });
    const config = kmsConfig(emulator);
    const retries = instantRetries();
    const http = new OtcHttpClient({ timeoutMs: 200, maxRetries: 1, ...retries.options });
    const error = await http
      .send({ service: 'kms', operation: 'list-keys', method: 'POST', url: new URL(`/v1.0/${config.otc!.projectId}/kms/list-keys`, emulator.kmsEndpoint), body: {} })
      .catch((caught) => caught);
    expect(error).toMatchObject({ code: 'OTC_TIMEOUT' });
    expect(error.message).toContain('KMS list-keys failed after 2 attempts: no answer within 0.2 s');
    expect(error.message).toContain('otc.requests.timeoutSeconds');
  });

  it('reports an endpoint nobody listens on as OTC_UNREACHABLE, after retrying', async () => {
    const retries = instantRetries();
    const http = new OtcHttpClient({ maxRetries: 2, ...retries.options });
    const port = await closedPort();
    const error = await http.send({ service: 'kms', operation: 'list-keys', method: 'POST', url: new URL(`http://127.0.0.1:${port}/v1.0/p/kms/list-keys`) }).catch((caught) => caught);
    expect(error).toMatchObject({ code: 'OTC_UNREACHABLE' });
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toContain('otc.endpoints.kms');
    expect(retries.delays).toHaveLength(2);
  });

  it('redacts credential values that a server echoes into its error message', async () => {
    const fetchEcho: typeof fetch = async () =>
      new Response(JSON.stringify({ error: { error_code: 'KMS.0308', error_msg: `bad parameter ${FAKE_SECRETS[0]}` } }), { status: 400 });
    const error = await new OtcHttpClient({ transport: fetchEcho, redact: (text) => text.split(FAKE_SECRETS[0]).join('[redacted]') })
      .send({ service: 'kms', operation: 'sign', method: 'POST', url: new URL('http://127.0.0.1/x') })
      .catch((caught) => caught);
    expect(error.message).toContain('bad parameter [redacted]');
    expect(error.message).not.toContain(FAKE_SECRETS[0]);
  });

  it('refuses a 200 whose body is not JSON, naming the endpoint', async () => {
    const notJson: typeof fetch = async () => new Response('<html>login page</html>', { status: 200 });
    const error = await new OtcHttpClient({ transport: notJson })
      .send({ service: 'kms', operation: 'list-keys', method: 'POST', url: new URL('https://proxy.example/v1.0/p/kms/list-keys') })
      .catch((caught) => caught);
    expect(error).toMatchObject({ code: 'OTC_RESPONSE_INVALID' });
    expect(error.message).toContain('is otc.endpoints.kms (https://proxy.example) really the KMS endpoint?');
  });
});

describe('parseServiceError', () => {
  it('reads the KMS, API Gateway and Keystone error shapes', () => {
    expect(parseServiceError('{"error":{"error_code":"KMS.0329","error_msg":"Hash algorithm does not match the digest length."}}')).toEqual({
      code: 'KMS.0329',
      message: 'Hash algorithm does not match the digest length.',
    });
    expect(parseServiceError('{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information","request_id":"x"}')).toEqual({
      code: 'APIGW.0301',
      message: 'Incorrect IAM authentication information',
    });
    expect(parseServiceError('{"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}')).toEqual({
      code: undefined,
      message: 'The request you have made requires authentication.',
    });
    expect(parseServiceError('')).toEqual({});
  });
});

/** A loopback port that was just free (a server bound it and closed). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
