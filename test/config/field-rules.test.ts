import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_FILE_MAX_BYTES, loadConfig, parseConfigText } from '../../lib/config/load';
import type { ConfigProblem } from '../../lib/errors';
import { organizationProblem } from '../../lib/config/field-rules';
import { configError } from '../helpers/config';
import { useTempDirectory } from '../helpers/temp-directory';

/*
 * Issue 9, cases 7 and 8: every value that reaches a manifest, a certificate, a signed document or a
 * command line is checked when the environment file is read, with its field path, its value and what
 * is accepted; and the file itself is bounded (size, tags, aliases).
 */

const REPO_ENVS = join(__dirname, '..', '..', 'envs');

/** The problems by field path (without the line). */
function problems(text: string): Record<string, ConfigProblem> {
  return Object.fromEntries(configError(text).problems.map((problem) => [problem.path.replace(/ \(line \d+\)$/, ''), problem]));
}

/** The single problem of `text`, which must be at `path`. */
function onlyProblem(text: string, path: string): ConfigProblem {
  const found = problems(text);
  expect(Object.keys(found)).toEqual([path]);
  return found[path];
}

const org = 'organization: Test Org\n';

describe('case 7: checks the cluster chart made only after minting are made when the file is read', () => {
  it('a ci-provider issuer naming a provider that has no templates: oidc.issuers[0].ciProvider', () => {
    const problem = onlyProblem(`${org}oidc:\n  issuers: [{ url: https://ci.example.com, type: ci-provider, ciProvider: github-workflow }]\n`, 'oidc.issuers[0].ciProvider');
    expect(problem.value).toBe('"github-workflow"');
    expect(problem.message).toContain('expected a CI provider that exists: "github-actions", "gitlab-ci"');
  });

  it('a ci-provider issuer of a tenant without ciProvider: oidc.tenants[0].issuers[1].ciProvider', () => {
    const problem = onlyProblem(
      `${org}oidc:\n  tenants:\n    - name: acme\n      issuers: [{ url: https://a.example.com }, { url: https://ci.example.com, type: ci-provider }]\n`,
      'oidc.tenants[0].issuers[1].ciProvider',
    );
    expect(problem.message).toContain('expected ciProvider because type is "ci-provider"');
  });

  it('a spiffe issuer, which Fulcio 1.8.8 refuses without SPIFFETrustDomain', () => {
    const problem = onlyProblem(`${org}oidc:\n  issuers: [{ url: https://spire.example.com, type: spiffe }]\n`, 'oidc.issuers[0].type');
    expect(problem.message).toContain('SPIFFETrustDomain');
  });

  it('duplicate trustRootNamespaces: cluster.trustRootNamespaces[2], naming the first', () => {
    const problem = onlyProblem(`${org}cluster:\n  trustRootNamespaces: [forge-prd, forge-stg, forge-prd]\n`, 'cluster.trustRootNamespaces[2]');
    expect(problem).toMatchObject({ value: '"forge-prd"', message: expect.stringContaining('cluster.trustRootNamespaces[0]') });
    expect(configError(`${org}cluster:\n  trustRootNamespaces: [a, a]\n`).message).toContain('cluster.trustRootNamespaces[1] (line 3): expected each namespace once');
  });

  it('a bad database.host: spaces, a port, a path, credentials, a shell character', () => {
    for (const host of ['db host', 'db:3306', 'db/x', 'user@db', 'db;reboot', 'db.example.com.', '-db']) {
      const problem = onlyProblem(`${org}database:\n  kind: external\n  host: ${JSON.stringify(host)}\n  credentialsSecret: trillian-db\n`, 'database.host');
      expect(problem).toMatchObject({ value: JSON.stringify(host), message: expect.stringContaining('expected a host name') });
    }
    for (const host of ['trillian-db.example.internal', 'mysql', '10.1.2.3', 'RDS-1.eu-de.example.com']) {
      expect(() => parseConfigText(`${org}database:\n  kind: external\n  host: ${host}\n  credentialsSecret: trillian-db\n`, 'ok')).not.toThrow();
    }
    expect(problems(`${org}database:\n  kind: external\n  host: 10.1.2.300\n  credentialsSecret: c\n`)).toHaveProperty(['database.host']);
  });

  it('an issuer listed by two tenants with different settings: the second entry, naming the first', () => {
    const problem = onlyProblem(
      `${org}oidc:\n  tenants:\n` +
        '    - { name: a, issuers: [{ url: https://idp.example.com, type: email }] }\n' +
        '    - { name: b, issuers: [{ url: https://idp.example.com, type: username, subjectDomain: example.com }] }\n',
      'oidc.tenants[1].issuers[0]',
    );
    expect(problem.message).toContain('oidc.tenants[0].issuers[0]');
    expect(problem.message).toContain('one entry per issuer URL');
    // The defaults count: { url } and { url, clientId: sigstore } are the same entry.
    expect(() =>
      parseConfigText(`${org}oidc:\n  issuers: [{ url: https://accounts.google.com }]\n  tenants: [{ name: a, issuers: [{ url: https://accounts.google.com, clientId: sigstore, type: email }] }]\n`, 'ok'),
    ).not.toThrow();
  });

  it('uri and username issuers: subjectDomain required, and under the issuer host as Fulcio 1.8.8 requires', () => {
    expect(onlyProblem(`${org}oidc:\n  issuers: [{ url: https://idp.example.com, type: uri }]\n`, 'oidc.issuers[0].subjectDomain').message).toMatch(/^missing: .*"uri"/);
    const mismatch = onlyProblem(`${org}oidc:\n  issuers: [{ url: https://idp.example.com, type: username, subjectDomain: example.org }]\n`, 'oidc.issuers[0].subjectDomain');
    expect(mismatch).toMatchObject({ value: '"example.org"', message: expect.stringContaining('"example.com"') });
    const ignored = onlyProblem(`${org}oidc:\n  issuers: [{ url: https://idp.example.com, subjectDomain: example.com }]\n`, 'oidc.issuers[0].subjectDomain');
    expect(ignored.message).toContain('only "uri" and "username"');
    expect(() => parseConfigText(`${org}oidc:\n  issuers: [{ url: https://idp.example.com, type: uri, subjectDomain: users.example.com }]\n`, 'ok')).not.toThrow();
  });

  it('reports every problem at once: the three chart-level ones and a schema one', () => {
    const found = problems(
      [
        'organization: Test Org',
        'cluster:',
        '  trustRootNamespaces: [a, a]',
        'services:',
        '  fulcio: { replicas: 0 }',
        'database:',
        '  kind: external',
        '  host: "db host"',
        '  credentialsSecret: c',
        'oidc:',
        '  issuers: [{ url: https://ci.example.com, type: ci-provider }]',
      ].join('\n'),
    );
    expect(Object.keys(found).sort()).toEqual(['cluster.trustRootNamespaces[1]', 'database.host', 'oidc.issuers[0].ciProvider', 'services.fulcio.replicas']);
  });
});

describe('case 8: values accepted today that are wrong', () => {
  it('a service hostname that is an IP address', () => {
    for (const hostname of ['10.0.0.1', '192.168.1.1', '1.2.3.4']) {
      const problem = onlyProblem(`${org}services:\n  fulcio: { hostname: ${JSON.stringify(hostname)} }\n`, 'services.fulcio.hostname');
      expect(problem).toMatchObject({ value: JSON.stringify(hostname), message: expect.stringContaining('not an IP address') });
    }
  });

  it('the same hostname for two services: the second, naming the first', () => {
    const problem = onlyProblem(`${org}services:\n  fulcio: { hostname: sigstore.example.com }\n  tsa: { hostname: sigstore.example.com }\n`, 'services.tsa.hostname');
    expect(problem).toMatchObject({ value: '"sigstore.example.com"', message: expect.stringContaining('services.fulcio.hostname') });
  });

  it('issuer URLs with credentials, whitespace, control characters, backslashes, a query or a fragment', () => {
    const cases: [string, RegExp][] = [
      ['https://user:pass@idp.example.com', /user:pass@/],
      ['https://user@idp.example.com', /user:pass@/],
      ['https://idp.example.com/realms/a\nb', /spaces, tabs, line breaks/],
      ['https://idp.example.com/\trealm', /spaces, tabs, line breaks/],
      ['https://idp.example.com/my realm', /spaces, tabs, line breaks/],
      [' https://idp.example.com', /spaces, tabs, line breaks/],
      ['https://idp.example.com\\realms\\a', /backslash/],
      ['https://idp.example.com/\u0000', /control characters/],
      ['https://idp.example.com/?tenant=a', /query or fragment/],
      ['https://idp.example.com/#a', /query or fragment/],
      ['https://idp.example.com/a/../b', /"\." or "\.\." segments/],
      ['https://idp.exämple.com', /ASCII/],
      ['http://idp.example.com', /https URL/],
      ['https://', /https URL/],
      [`https://idp.example.com/${'a'.repeat(600)}`, /at most 512 characters/],
    ];
    for (const [url, message] of cases) {
      const problem = onlyProblem(`${org}oidc:\n  issuers:\n    - url: ${JSON.stringify(url)}\n`, 'oidc.issuers[0].url');
      expect([url, problem.message]).toEqual([url, expect.stringMatching(message)]);
      expect(problem.value).toBe(JSON.stringify(url).length > 80 ? `${JSON.stringify(url).slice(0, 77)}...` : JSON.stringify(url));
    }
    for (const url of [
      'https://token.actions.githubusercontent.com',
      'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0',
      'https://keycloak.example.com:8443/realms/forge',
      'https://kubernetes.default.svc',
      'https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE',
    ]) {
      expect(() => parseConfigText(`${org}oidc:\n  issuers: [{ url: ${JSON.stringify(url)} }]\n`, 'ok')).not.toThrow();
    }
  });

  it('a clientId with a line break, a quote or a space', () => {
    for (const clientId of ['sig\nstore', 'sig"store', "sig'store", 'sig store', '', 'x'.repeat(256)]) {
      const problem = onlyProblem(`${org}oidc:\n  issuers: [{ url: https://idp.example.com, clientId: ${JSON.stringify(clientId)} }]\n`, 'oidc.issuers[0].clientId');
      expect(problem.message).toContain('expected a client id');
    }
    expect(() => parseConfigText(`${org}oidc:\n  issuers: [{ url: https://idp.example.com, clientId: "123.apps.googleusercontent.com" }]\n`, 'ok')).not.toThrow();
  });

  it('an organization with NUL, a line break, a control or format character, or more than 64 characters', () => {
    for (const organization of ['Org\u0000', 'Org\nInjected', 'Org\u202eevil', 'Tab\tOrg', ' Org', 'Org  Two', 'Org "Quoted"', 'x'.repeat(65)]) {
      const problem = onlyProblem(`organization: ${JSON.stringify(organization)}\n`, 'organization');
      expect([organization, problem.message]).toEqual([organization, expect.stringMatching(/^expected (1-64|at most 64)/)]);
    }
    // 64 characters, some of them outside ASCII (counted as characters, not UTF-16 units).
    for (const organization of ['Example Forge GmbH', 'Müller & Söhne KG', 'A.B. (Holdings) Ltd.', `${'ä'.repeat(62)} Z`]) {
      expect(parseConfigText(`organization: ${JSON.stringify(organization)}\n`, 'ok').organization).toBe(organization);
    }
  });

  it('ingressClassName and storageClassName must be DNS-1123 subdomain names', () => {
    for (const name of ['nginx public', 'Nginx', 'nginx;x', 'a'.repeat(254)]) {
      const problem = onlyProblem(`${org}cluster:\n  ingressClassName: ${JSON.stringify(name)}\n`, 'cluster.ingressClassName');
      expect(problem.message).toContain('DNS-1123 subdomain');
      const storage = onlyProblem(`${org}database:\n  kind: in-cluster\n  storageClassName: ${JSON.stringify(name)}\n`, 'database.storageClassName');
      expect(storage.message).toContain('DNS-1123 subdomain');
    }
    expect(parseConfigText(`${org}cluster:\n  ingressClassName: nginx.example.com\n`, 'ok').cluster.ingressClassName).toBe('nginx.example.com');
    expect(parseConfigText(`${org}database:\n  kind: in-cluster\n  storageClassName: csi-disk-ssd\n`, 'ok').database).toMatchObject({ storageClassName: 'csi-disk-ssd' });
  });

  it('an unknown YAML tag: named with its field, line and tag, never expanded', () => {
    const error = configError('signer: local\norganization: !env HOME\n');
    expect(error.code).toBe('CONFIG_UNREADABLE');
    expect(error.problems).toEqual([expect.objectContaining({ path: 'organization (line 2)', message: expect.stringContaining('!env') })]);
    expect(error.message).toContain('organization (line 2): unknown YAML tag "!env"');
    // Tags YAML 1.1 knew but the schema has no use for are refused as well.
    expect(configError(`${org}cluster:\n  namespace: !!binary c2lnc3RvcmU=\n`).problems[0]).toMatchObject({ path: 'cluster.namespace (line 3)', message: expect.stringContaining('!!binary') });
  });

  it('an alias bomb: a named error, not an unexpected one', () => {
    const lines = ['organization: Test Org', 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    let previous = 'a';
    for (const name of 'bcdefghi') {
      lines.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
      previous = name;
    }
    const error = configError(lines.join('\n'));
    expect(error.code).toBe('CONFIG_UNREADABLE');
    expect(error.problems).toEqual([expect.objectContaining({ path: 'line 3', message: expect.stringContaining('aliases') })]);
    // A few aliases are fine (an issuer shared by two tenants).
    const shared = parseConfigText(
      `${org}oidc:\n  tenants:\n    - { name: a, issuers: [&google { url: https://accounts.google.com }] }\n    - { name: b, issuers: [*google] }\n`,
      'ok',
    );
    expect(shared.oidc.tenants[1].issuers[0].url).toBe('https://accounts.google.com');
  });

  it('string fields have length limits', () => {
    const long = 'a'.repeat(70);
    expect(onlyProblem(`${org}services:\n  ctlog: { prefix: ${long} }\n`, 'services.ctlog.prefix').message).toContain('at most 63');
    expect(onlyProblem(`${org}images:\n  mirror: { registry: swr.eu-de.otc.t-systems.com, organization: ${'a'.repeat(129)} }\n`, 'images.mirror.organization').message).toContain('at most 128');
    expect(onlyProblem(`${org}database:\n  kind: in-cluster\n  storageSize: 99999999999Gi\n`, 'database.storageSize').message).toContain('storage size');
    expect(onlyProblem(`${org}services:\n  fulcio: { hostname: ${'a'.repeat(64)}.example.com }\n`, 'services.fulcio.hostname').message).toContain('hostname');
  });
});

describe('case 8: the environment file itself', () => {
  const temp = useTempDirectory();

  it('refuses a file larger than 1 MiB from its size alone, and a value of 50 MB', () => {
    mkdirSync(join(temp(), 'envs'));
    const file = join(temp(), 'envs', 'big.yaml');
    // A sparse 50 MB file: its size is known without a byte of it being read.
    closeSync(openSync(file, 'w'));
    truncateSync(file, 50 * 1024 * 1024);
    expect(() => loadConfig({ env: 'big', envsDir: join(temp(), 'envs') })).toThrow(
      expect.objectContaining({ code: 'CONFIG_TOO_LARGE', message: expect.stringContaining(`at most ${CONFIG_FILE_MAX_BYTES} bytes`) }),
    );
    writeFileSync(file, `organization: "${'x'.repeat(CONFIG_FILE_MAX_BYTES)}"\n`);
    expect(() => loadConfig({ env: 'big', envsDir: join(temp(), 'envs') })).toThrow(expect.objectContaining({ code: 'CONFIG_TOO_LARGE' }));
    expect(() => parseConfigText(`organization: "${'x'.repeat(CONFIG_FILE_MAX_BYTES)}"\n`, 'envs/big.yaml')).toThrow(expect.objectContaining({ code: 'CONFIG_TOO_LARGE' }));
  });

  it('refuses what is not a regular file, and bytes that are not UTF-8', () => {
    mkdirSync(join(temp(), 'envs', 'dir.yaml'), { recursive: true });
    expect(() => loadConfig({ env: 'dir', envsDir: join(temp(), 'envs') })).toThrow(expect.objectContaining({ code: 'CONFIG_UNREADABLE', message: expect.stringContaining('not a regular file') }));
    execFileSync('mkfifo', [join(temp(), 'envs', 'fifo.yaml')]);
    expect(() => loadConfig({ env: 'fifo', envsDir: join(temp(), 'envs') })).toThrow(expect.objectContaining({ code: 'CONFIG_UNREADABLE', message: expect.stringContaining('not a regular file') }));
    writeFileSync(join(temp(), 'envs', 'latin1.yaml'), Buffer.from('organization: M\xfcller GmbH\n', 'latin1'));
    expect(() => loadConfig({ env: 'latin1', envsDir: join(temp(), 'envs') })).toThrow(expect.objectContaining({ code: 'CONFIG_UNREADABLE', message: expect.stringContaining('UTF-8') }));
  });

  it('keeps the shipped environments valid', () => {
    expect(() => loadConfig({ env: 'dev', envsDir: REPO_ENVS })).not.toThrow();
    expect(() => parseConfigText(readFileSync(join(REPO_ENVS, 'prd.example.yaml'), 'utf8'), 'envs/prd.example.yaml')).not.toThrow();
  });
});

describe('case 8, audit: the rest of the schema, same class', () => {
  const otc = 'otc:\n  region: eu-de\n  kms: { fulcioRootKeyAlias: fulcio-root-g1, tsaRootKeyAlias: tsa-root-g1 }\n';

  it('API endpoints: whitespace and control characters the URL parser would silently drop', () => {
    for (const kms of ['https://kms.eu-de.otc.t-systems.com\n', 'https://kms.eu-de.\totc.t-systems.com', 'https://user:pw@kms.eu-de.otc.t-systems.com']) {
      const problem = onlyProblem(`${org}otc:\n  region: eu-de\n  endpoints: { kms: ${JSON.stringify(kms)} }\n  kms: { fulcioRootKeyAlias: f-g1, tsaRootKeyAlias: t-g1 }\n`, 'otc.endpoints.kms');
      expect(problem.message).toContain('expected an https URL');
    }
  });

  it('NTP servers: each once; host names or IPv4 addresses', () => {
    const problem = onlyProblem(`${org}services:\n  tsa: { ntpMonitoring: true, ntpServers: [ntp1.example.internal, ntp1.example.internal, ntp2.example.internal] }\n`, 'services.tsa.ntpServers[1]');
    expect(problem.message).toContain('each server once');
    expect(parseConfigText(`${org}services:\n  tsa: { ntpMonitoring: true, ntpServers: [10.0.0.1, ntp.example.internal] }\n`, 'ok').services.tsa.ntpServers).toEqual(['10.0.0.1', 'ntp.example.internal']);
    expect(onlyProblem(`${org}services:\n  tsa: { ntpMonitoring: true, ntpServers: ["ntp;x"] }\n`, 'services.tsa.ntpServers[0]').message).toContain('expected a host name');
  });

  it('subjectDomain is a domain, not an IP address; ciProvider only with type ci-provider', () => {
    expect(onlyProblem(`${org}oidc:\n  issuers: [{ url: https://idp.example.com, type: username, subjectDomain: 10.0.0.1 }]\n`, 'oidc.issuers[0].subjectDomain').message).toContain(
      'not an IP address',
    );
    expect(onlyProblem(`${org}oidc:\n  issuers: [{ url: https://idp.example.com, ciProvider: github-workflow }]\n`, 'oidc.issuers[0].ciProvider').message).toContain(
      'only "ci-provider"',
    );
  });

  it('at most 100 distinct issuer URLs: Fulcio config and signing config stay far below a ConfigMap', () => {
    const issuers = Array.from({ length: 101 }, (_, index) => `    - url: https://idp${index}.example.com`).join('\n');
    const problem = onlyProblem(`${org}oidc:\n  issuers:\n${issuers}\n`, 'oidc.issuers[100].url');
    expect(problem.message).toContain('at most 100');
  });

  it('validity periods end before year 10000: at most 100 years', () => {
    const problem = onlyProblem(`${org}pki:\n  fulcio: { rootValidity: 99999y }\n`, 'pki.fulcio.rootValidity');
    expect(problem).toMatchObject({ value: '"99999y"', message: expect.stringContaining('at most 100y') });
    expect(onlyProblem(`${org}tuf:\n  expiry: { timestamp: 99999d }\n`, 'tuf.expiry.timestamp').message).toContain('at most 100y');
    expect(parseConfigText(`${org}pki:\n  fulcio: { rootValidity: 100y, intermediateValidity: 36500d }\n`, 'ok').pki.fulcio.rootValidity).toEqual({ amount: 100, unit: 'y' });
  });

  it('Secret names get a message saying what is expected', () => {
    expect(onlyProblem(`${org}cluster:\n  ingressTlsSecret: "TLS secret"\n`, 'cluster.ingressTlsSecret').message).toContain('expected a Secret name');
    expect(onlyProblem(`${org}database:\n  kind: external\n  host: db\n  credentialsSecret: "a b"\n`, 'database.credentialsSecret').message).toContain('expected a Secret name');
  });

  it('cloud: subscription endpoints and state paths are bounded and free of control characters', () => {
    const cloud = (alarms: string, backend = '') =>
      `${org}${otc}cloud:\n  bootstrapBucket: { name: forge-sigstore }\n  alarms:\n    subscriptions:\n${alarms}\n${backend}`;
    for (const [protocol, endpoint] of [
      ['email', 'oncall"@example.com'],
      ['email', 'on\u0000call@example.com'],
      ['https', 'https://hooks.example.com/\talarm'],
      ['https', `https://hooks.example.com/${'a'.repeat(2100)}`],
    ]) {
      const problem = onlyProblem(cloud(`      - { name: oncall, protocol: ${protocol}, endpoint: ${JSON.stringify(endpoint)} }`), 'cloud.alarms.subscriptions[0].endpoint');
      expect(problem.message).toMatch(/^expected/);
    }
    const longPath = onlyProblem(cloud('      - { name: oncall, protocol: email, endpoint: a@example.com }', `  stateBackend: { kind: local, path: ${'a/'.repeat(600)}x }\n`), 'cloud.stateBackend.path');
    expect(longPath.message).toContain('at most 1024');
  });
});

describe('the organization rule (lib/config/field-rules.ts organizationProblem)', () => {
  // The rule as written for any script; an ASCII name is checked with its ASCII form, which must agree.
  const UNICODE_RULE = /^[\p{L}\p{N}][\p{L}\p{M}\p{N}.,&'()/+:@_-]*( [\p{L}\p{M}\p{N}.,&'()/+:@_-]+)*$/u;

  it('decides every ASCII name as the Unicode rule does (random names from every printable character, seeded)', () => {
    const alphabet = Array.from({ length: 0x7f - 0x20 }, (_, index) => String.fromCharCode(0x20 + index)).join('') + '\t';
    let seed = 20261204;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let accepted = 0;
    const disagreements: string[] = [];
    for (let sample = 0; sample < 20_000; sample++) {
      const length = 1 + Math.floor(next() * 8);
      // Mostly letters, so that many samples pass and the punctuation rules are reached.
      const name = Array.from({ length }, () => (next() < 0.6 ? 'aZ0 '[Math.floor(next() * 4)] : alphabet[Math.floor(next() * alphabet.length)])).join('');
      const ok = organizationProblem(name) === undefined;
      if (ok) accepted++;
      if (ok !== UNICODE_RULE.test(name)) disagreements.push(name);
    }
    expect(disagreements).toEqual([]);
    expect(accepted).toBeGreaterThan(2_000);
  });

  it('still takes letters and marks of any script, and refuses what the rule refuses', () => {
    for (const name of ['Müller & Söhne', '東京 Forge', 'Café́ GmbH', 'Example Forge (EU)/Ops']) expect({ name, problem: organizationProblem(name) }).toEqual({ name, problem: undefined });
    for (const name of [' Example', 'Example  Forge', 'Example ', '"Quoted"', '#1 Forge', 'Tab\tForge', 'Ünicode\u200b']) expect({ name, refused: organizationProblem(name) !== undefined }).toEqual({ name, refused: true });
  });
});
