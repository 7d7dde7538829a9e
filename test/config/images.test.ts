import { IMAGES, imageReference, mirrorRepository, mirroredImages, type PinnedImage } from '../../lib/config/images';

const images: [string, PinnedImage][] = Object.entries(IMAGES);

describe('the images table', () => {
  it.each(images)('%s is pinned by a sha256 digest, has a version tag, a mirror name and a cited source', (_key, image) => {
    expect(image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(image.tag).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/);
    expect(image.name).toMatch(/^[a-z0-9]+([-_][a-z0-9]+)*$/);
    expect(image.repository).toMatch(/^(ghcr\.io|docker\.io)\/[a-z0-9._/-]+$/);
    expect(image.source).toMatch(/^[a-z0-9-]+\/[a-z0-9-]+:\S+/);
  });

  it('gives every image its own mirror repository and digest', () => {
    const names = images.map(([, image]) => image.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('references upstream images as repository:tag@digest', () => {
    expect(imageReference(IMAGES.fulcio)).toBe(
      'ghcr.io/sigstore/fulcio:v1.8.8@sha256:ef72cf56c64b7455ceda5268d1cc801b92992e7ce36b744b40b7761684d60753',
    );
  });

  it('rewrites to <registry>/<organization>/cache-<name>:<tag>@<digest> with a mirror (the runbook SWR layout)', () => {
    const mirror = { registry: 'swr.eu-de.otc.t-systems.com', organization: 'forge-prd' };
    expect(imageReference(IMAGES.timestampServer, mirror)).toBe(
      'swr.eu-de.otc.t-systems.com/forge-prd/cache-timestamp-server:v2.1.0@sha256:8637f0482ed1ecb229b44ebd0afc760f6f57114a4d53c6953cf65c00218896b2',
    );
    expect(mirrorRepository(IMAGES.fulcio, mirror)).toBe('swr.eu-de.otc.t-systems.com/forge-prd/cache-fulcio-server');
  });

  it('lists what a mirror must hold: the repository name, tag, digest, upstream source and mirror target of every image', () => {
    const mirror = { registry: 'swr.eu-de.otc.t-systems.com', organization: 'forge-prd' };
    const list = mirroredImages(mirror);
    expect(list).toHaveLength(images.length);
    expect(list.find((entry) => entry.repositoryName === 'cache-fulcio-server')).toEqual({
      repositoryName: 'cache-fulcio-server',
      tag: 'v1.8.8',
      digest: IMAGES.fulcio.digest,
      source: imageReference(IMAGES.fulcio),
      target: imageReference(IMAGES.fulcio, mirror),
    });
    for (const entry of list) expect(entry.target).toBe(`${mirror.registry}/${mirror.organization}/${entry.repositoryName}:${entry.tag}@${entry.digest}`);
  });
});
