import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { FulcioSigner, MessageSignatureBundleBuilder, RekorWitness, TSAWitness, type Signer as BundleSigner, type Witness } from '@sigstore/sign';
import { getTrustedRoot } from '@sigstore/tuf';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import type { SigstoreConfig } from '../config/schema';
import { serviceBaseUrl } from '../config/service-urls';
import { checkCustody } from '../custody/check-custody';
import { ConfigError, SmokeError, type SmokeErrorCode } from '../errors';
import { silentProgress, type Progress } from '../progress';
import { readPkiMaterial } from '../pki/state-items';
import { registerSecret } from '../redaction';
import { StateStore } from '../state/store';
import { buildSigningConfig, rekorServiceAt } from '../trust/signing-config';
import { readTufRepository } from '../trust/tuf/repository';

/** The public services the smoke test talks to. */
export type SmokeComponent = 'tuf' | 'fulcio' | 'tsa' | 'rekor' | 'verify';

/** One step as reported: what, against which component and URL, how long, and how it ended. */
export interface SmokeStep {
  readonly component: SmokeComponent;
  readonly step: string;
  readonly url?: string;
  readonly ms: number;
  readonly ok: boolean;
  readonly error?: string;
}

export interface SmokeResult {
  readonly env: string;
  readonly ok: boolean;
  readonly steps: readonly SmokeStep[];
  /** The certificate's identity, as the verifier read it. */
  readonly identity?: { readonly subjectAlternativeName?: string; readonly issuer?: string };
}

export interface SmokeOptions {
  readonly config: SigstoreConfig;
  /** @default .sigstore */
  readonly stateRoot?: string;
  /** The OIDC identity token Fulcio exchanges for a certificate (a secret: redacted from every output). */
  readonly identityToken: string;
  /**
   * Base URLs instead of the configured public ones (`https://<hostname>`), e.g. through a
   * port-forward. @default - the configured hostnames
   */
  readonly urls?: Partial<Record<'fulcio' | 'rekor' | 'tsa' | 'tuf', string>>;
  /** Per-request timeout. @default 10 s */
  readonly timeoutMs?: number;
  /** The blob signed. @default - a line naming the environment and the time */
  readonly blob?: Buffer;
  /** @default - silent */
  readonly progress?: Progress;
  /** "Now": picks the Rekor the signing config names at that time (v1 or v2 around a migration's cut-over). @default - the system clock */
  readonly clock?: () => Date;
}

const FAILURE_CODE: Record<SmokeComponent, SmokeErrorCode> = {
  tuf: 'SMOKE_TUF_FAILED',
  fulcio: 'SMOKE_FULCIO_FAILED',
  tsa: 'SMOKE_TSA_FAILED',
  rekor: 'SMOKE_REKOR_FAILED',
  verify: 'SMOKE_VERIFY_FAILED',
};

/**
 * `sigstore-cdk smoke`: the deployed stack, end to end, as a client sees it. Bootstraps trust from the
 * TUF repository with the state's `1.root.json` (@sigstore/tuf, the client sigstore-js uses), signs
 * a blob with sigstore-js's signer (@sigstore/sign: a Fulcio certificate for the identity token, an
 * RFC 3161 timestamp from the TSA, a Rekor entry when Rekor is public: through API v1 or v2, as the
 * environment's signing config names the Rekor valid now), then verifies the bundle with
 * @sigstore/verify against the trusted root TUF delivered: the chain to the Fulcio root, the CT log's
 * SCT, the timestamp, the Rekor entry. Each step is timed; the first failure stops the run with the
 * component's error code (exit 6). Reads the state, writes nothing.
 */
export async function runSmoke(options: SmokeOptions): Promise<SmokeResult> {
  const { config } = options;
  const progress = options.progress ?? silentProgress;
  registerSecret(options.identityToken);
  const url = (service: 'fulcio' | 'rekor' | 'tsa' | 'tuf'): string | undefined =>
    options.urls?.[service] ?? (config.services[service].hostname ? serviceBaseUrl(config, service) : undefined);
  const tufUrl = url('tuf');
  const fulcioUrl = url('fulcio');
  if (!tufUrl || !fulcioUrl) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `smoke needs the public URLs of the TUF repository and Fulcio: set services.tuf.hostname and services.fulcio.hostname in environment "${config.env}", ` +
        'or pass --tuf-url and --fulcio-url (e.g. through kubectl port-forward)',
    );
  }
  const rekorPublic = Boolean(options.urls?.rekor ?? config.services.rekor.hostname);
  const tsaUrl = url('tsa');
  const timeout = options.timeoutMs ?? 10_000;

  const store = new StateStore({ root: options.stateRoot, env: config.env });
  const snapshot = await store.load();
  await checkCustody(snapshot, store.directory);
  const firstRoot = readTufRepository(snapshot).files.get('1.root.json');
  const now = (options.clock ?? (() => new Date()))();
  // The Rekor clients are told to sign with now (Rekor v2 for logs.rekor v2; after `rotate rekor-log`
  // Rekor v1 until the cut-over, then Rekor v2): from the signing config synth publishes in TUF,
  // built from the same state and configuration (buildSigningConfig), not decided again here.
  const rekorService = rekorPublic ? rekorServiceAt(buildSigningConfig(await readPkiMaterial(snapshot, { at: now }), config), now) : undefined;
  // A --rekor-url (a port-forward) replaces the URL, not the API version.
  const rekorUrl = rekorPublic ? (options.urls?.rekor ?? rekorService?.url) : undefined;

  const steps: SmokeStep[] = [];
  const result = (ok: boolean, identity?: SmokeResult['identity']): SmokeResult => ({ env: config.env, ok, steps: [...steps], identity });
  const step = async <T>(component: SmokeComponent, label: string, where: string | undefined, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      const value = await progress.step(`${component}: ${label}${where ? ` (${where})` : ''}`, work);
      steps.push({ component, step: label, url: where, ms: Math.round(performance.now() - started), ok: true });
      return value;
    } catch (error) {
      const message = describeFailure(error);
      steps.push({ component, step: label, url: where, ms: Math.round(performance.now() - started), ok: false, error: message });
      throw new SmokeError(FAILURE_CODE[component], `${component} failed: ${label}${where ? ` at ${where}` : ''}: ${message}`, result(false), { cause: error });
    }
  };

  const cache = mkdtempSync(join(tmpdir(), 'sigstore-cdk-smoke-'));
  try {
    const rootPath = join(cache, '1.root.json');
    if (!firstRoot) throw new ConfigError('CONFIG_INVALID', `state ${store.directory} has no TUF root 1.root.json`);
    writeFileSync(rootPath, firstRoot);
    const trustedRoot = await step('tuf', 'bootstrap trust from 1.root.json of the state, fetch trusted_root.json', tufUrl, () =>
      getTrustedRoot({ mirrorURL: tufUrl, rootPath, cachePath: join(cache, 'tuf'), forceInit: true, retry: 0, timeout }),
    );

    const signer: BundleSigner = new FulcioSigner({ fulcioBaseURL: fulcioUrl, identityProvider: { getToken: async () => options.identityToken }, retry: 0, timeout });
    const timedSigner: BundleSigner = { sign: (data) => step('fulcio', 'signing certificate for the identity token, signature', fulcioUrl, () => signer.sign(data)) };
    const witnesses: Witness[] = [];
    if (tsaUrl) {
      // sigstore-js posts to a TSA URL with a path as it is: give it the API path under the base URL.
      const tsa = new TSAWitness({ tsaBaseURL: `${tsaUrl.replace(/\/+$/, '')}/api/v1/timestamp`, retry: 0, timeout });
      witnesses.push({ testify: (content) => step('tsa', 'RFC 3161 timestamp of the signature', tsaUrl, () => tsa.testify(content)) });
    }
    if (rekorPublic) {
      const api = rekorService?.majorApiVersion ?? 1;
      const rekor = new RekorWitness({ rekorBaseURL: rekorUrl, majorApiVersion: api, fetchOnConflict: false, retry: 0, timeout });
      witnesses.push({
        testify: (content, key) =>
          step('rekor', `hashedrekord entry in the log through API v${api}`, rekorUrl, async () => {
            if (!rekorService) throw new Error(`the signing config names no Rekor valid at ${now.toISOString()}`);
            return rekor.testify(content, key);
          }),
      });
    }
    const blob = options.blob ?? Buffer.from(`sigstore-cdk smoke test of environment "${config.env}" at ${now.toISOString()}\n`);
    const bundle = await new MessageSignatureBundleBuilder({ signer: timedSigner, witnesses }).create({ data: blob });

    const identity = await step('verify', 'verify the bundle with @sigstore/verify against the trusted root from TUF', undefined, async () => {
      const verifier = new Verifier(toTrustMaterial(trustedRoot), {
        // Fulcio embeds the CT log's SCT in every certificate; the TSA and Rekor count when they were used.
        ctlogThreshold: 1,
        timestampThreshold: tsaUrl ? 1 : 0,
        tlogThreshold: rekorPublic ? 1 : 0,
      });
      // Through the serialized form, as a client that receives the bundle file would read it.
      const signerIdentity = verifier.verify(toSignedEntity(bundleFromJSON(bundleToJSON(bundle)), blob));
      return { subjectAlternativeName: signerIdentity.identity?.subjectAlternativeName, issuer: signerIdentity.identity?.extensions?.issuer };
    });
    return result(true, identity);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

/** The innermost message of an error chain (sigstore-js wraps the HTTP error in its own). */
function describeFailure(error: unknown): string {
  const messages: string[] = [];
  for (let current = error as { message?: string; cause?: unknown; code?: string } | undefined, depth = 0; current && depth < 5; current = current.cause as typeof current, depth++) {
    if (current.message && !messages.includes(current.message)) messages.push(current.code ? `${current.message} [${current.code}]` : current.message);
  }
  return messages.join(': ') || String(error);
}
