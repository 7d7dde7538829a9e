import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGES, imageReference, mirroredImages } from '../../lib/config/images';
import { runCliCaptured } from '../helpers/cli';
import { useTempDirectory } from '../helpers/temp-directory';

describe('sigstore-cdk images', () => {
  const temp = useTempDirectory();
  const env = (yaml: string) => {
    mkdirSync(join(temp(), 'envs'), { recursive: true });
    writeFileSync(join(temp(), 'envs', 'm.yaml'), `organization: Test Org\n${yaml}`);
    return ['--env', 'm', '--envs-dir', join(temp(), 'envs')];
  };

  it('with a mirror: one "source target" line per pinned image on stdout, the target without digest (what crane copy takes)', async () => {
    const mirror = { registry: 'swr.eu-de.otc.t-systems.com', organization: 'example-forge' };
    const run = await runCliCaptured(['images', ...env(`images:\n  mirror: { registry: ${mirror.registry}, organization: ${mirror.organization} }\n`)]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(Object.keys(IMAGES).length);
    expect(lines).toEqual(mirroredImages(mirror).map((image) => `${image.source} ${image.target.replace(/@sha256:[0-9a-f]{64}$/, '')}`));
    for (const line of lines) expect(line).toMatch(/^\S+@sha256:[0-9a-f]{64} swr\.eu-de\.otc\.t-systems\.com\/example-forge\/cache-[a-z0-9_-]+:\S+$/);
  });

  it('without a mirror: the pinned upstream references; --json gives both forms', async () => {
    const run = await runCliCaptured(['images', ...env('')]);
    expect(run.stdout.trim().split('\n')).toEqual(Object.values(IMAGES).map((image) => imageReference(image)));
    const json = JSON.parse((await runCliCaptured(['images', '--json', ...env('')])).stdout);
    expect(json).toMatchObject({ env: 'm', mirror: null });
    expect(json.images[0]).toEqual({ source: imageReference(Object.values(IMAGES)[0]), digest: Object.values(IMAGES)[0].digest });
  });
});
