/*
 * Every container image the cluster chart runs, in one table, pinned by digest. A digest is never
 * guessed: each entry names the upstream file it was copied from. To move to a newer version, copy the
 * tag and digest from the same source at its newer revision, and check reference/key-formats.md for
 * the servers that read our private keys (legacy-encrypted SEC1 PEM is read by every version here).
 *
 * With `images.mirror` set, every image is pulled as `<registry>/<organization>/cache-<name>:<tag>@<digest>`
 * (the runbook's SWR convention); `mirroredImages()` lists what the mirror must hold.
 */

/** One pinned upstream image. */
export interface PinnedImage {
  /**
   * Short name: the mirror repository is `cache-<name>`. The upstream repository's last segment, except
   * where the runbook's SWR mirrors already use another (`fulcio-server`). Lowercase letters, digits, "-", "_".
   */
  readonly name: string;
  /** Upstream repository, with registry (`ghcr.io/sigstore/fulcio`). */
  readonly repository: string;
  /** Human-readable tag (the version); the digest decides what is pulled. */
  readonly tag: string;
  /** `sha256:<64 hex>`: the image index (multi-architecture) digest. */
  readonly digest: string;
  /** Where the digest was copied from (`owner/repo:path`, with the version or chart revision). */
  readonly source: string;
}

export const IMAGES = {
  /** Fulcio CA server (fileca reads legacy-encrypted SEC1 and PKCS#8 keys from v1.8.8). */
  fulcio: {
    name: 'fulcio-server',
    repository: 'ghcr.io/sigstore/fulcio',
    tag: 'v1.8.8',
    digest: 'sha256:ef72cf56c64b7455ceda5268d1cc801b92992e7ce36b744b40b7761684d60753',
    source: 'sigstore/helm-charts:charts/fulcio/values.yaml (chart 2.11.0, app v1.8.8)',
  },
  /** Rekor v1 server. */
  rekor: {
    name: 'rekor-server',
    repository: 'ghcr.io/sigstore/rekor/rekor-server',
    tag: 'v1.5.4',
    digest: 'sha256:100d793d68d0e1ba9fea7df8503304cef1ca736c891bd074fcae3d450dd64169',
    source: 'sigstore/helm-charts:charts/rekor/values.yaml (chart 1.8.4, app v1.5.4)',
  },
  /** Redis for Rekor's search index. */
  redis: {
    name: 'redis',
    repository: 'docker.io/library/redis',
    tag: '6.2.17-alpine3.21',
    digest: 'sha256:148bb5411c184abd288d9aaed139c98123eeb8824c5d3fce03cf721db58066d8',
    source: 'sigstore/helm-charts:charts/rekor/values.yaml (chart 1.8.4, redis.image)',
  },
  /** Certificate Transparency front end (certificate-transparency-go ct_server), built by scaffolding. */
  ctServer: {
    name: 'ct_server',
    repository: 'ghcr.io/sigstore/scaffolding/ct_server',
    tag: 'v0.7.31',
    digest: 'sha256:66664ba563e7c2564ba32fb5d0e8fdeb42d7f0d5ce45f0df5d80074daea5126c',
    source: 'sigstore/helm-charts:charts/ctlog/values.yaml (chart 0.2.67, app v0.7.31)',
  },
  /** Trillian log server (trillian v1.7.3). */
  trillianLogServer: {
    name: 'trillian_log_server',
    repository: 'ghcr.io/sigstore/scaffolding/trillian_log_server',
    tag: 'v1.7.3',
    digest: 'sha256:5a878e4e4f03790d2dda4b07a551ff9832128b307447d4156255c73690aa2da3',
    source: 'sigstore/helm-charts:charts/trillian/values.yaml (chart 0.3.16, "trillian v1.7.3 (scaffolding v0.7.37)")',
  },
  /** Trillian log signer (trillian v1.7.3; built with the k8s election provider). */
  trillianLogSigner: {
    name: 'trillian_log_signer',
    repository: 'ghcr.io/sigstore/scaffolding/trillian_log_signer',
    tag: 'v1.7.3',
    digest: 'sha256:28c5ff40963f83ffdf4e2d9ea1e4e2c877c33cfb0ff068f3daad1c1080aad0ac',
    source: 'sigstore/helm-charts:charts/trillian/values.yaml (chart 0.3.16, "trillian v1.7.3 (scaffolding v0.7.37)")',
  },
  /** scaffolding createtree: creates a Trillian tree and writes its id into a ConfigMap. */
  createtree: {
    name: 'createtree',
    repository: 'ghcr.io/sigstore/scaffolding/createtree',
    tag: 'v0.7.31',
    digest: 'sha256:e5232e8c9122fcf87260b48f4b05bcb95c35c8aaa57581b42f0fde7460bd3e91',
    source: 'sigstore/helm-charts:charts/ctlog/values.yaml (chart 0.2.67, createtree.image)',
  },
  /**
   * scaffolding updatetree: sets a Trillian tree's state (FROZEN for a Rekor shard a key rotation
   * retired; flags --tree_id, --tree_state, --admin_server: sigstore/scaffolding:cmd/trillian/updatetree/main.go at v0.7.31).
   */
  updatetree: {
    name: 'updatetree',
    repository: 'ghcr.io/sigstore/scaffolding/updatetree',
    tag: 'v0.7.31',
    digest: 'sha256:66f47d58ec4f47e322345cfc783b3d8816624961feec9bc0063d35b8267645fe',
    source: 'sigstore/helm-charts:charts/updatetree/values.yaml (chart 0.0.22, app 0.7.31)',
  },
  /** scaffolding createdb: creates Trillian's tables and indexes in an existing database. */
  createdb: {
    name: 'createdb',
    repository: 'ghcr.io/sigstore/scaffolding/createdb',
    tag: 'v0.7.31',
    digest: 'sha256:3cee6c78973b82af6c3c3632bf8d44dafbab1632b3999a7292b170237c5dd5cc',
    source: 'sigstore/helm-charts:charts/trillian/values.yaml (chart 0.3.16, createdb.image, "v0.7.31")',
  },
  /** MySQL 8.4 LTS, the base of Trillian's own db_server image at v1.7.3. */
  mysql: {
    name: 'mysql',
    repository: 'docker.io/library/mysql',
    tag: '8.4',
    digest: 'sha256:da906917ca4ace3ba55538b7c2ee97a9bc865ef14a4b6920b021f0249d603f3d',
    source: 'google/trillian:examples/deployment/docker/db_server/Dockerfile (tag v1.7.3, FROM mysql:8.4@…)',
  },
  /** Timestamp Authority (file signer reads legacy-encrypted SEC1 keys in every version). */
  timestampServer: {
    name: 'timestamp-server',
    repository: 'ghcr.io/sigstore/timestamp-server',
    tag: 'v2.1.0',
    digest: 'sha256:8637f0482ed1ecb229b44ebd0afc760f6f57114a4d53c6953cf65c00218896b2',
    source: 'sigstore/helm-charts:charts/tsa/values.yaml (chart 2.1.1, app v2.1.0)',
  },
  /** scaffolding TUF server; in `--mode=serve` a plain static file server on :8080. */
  tufServer: {
    name: 'tuf-server',
    repository: 'ghcr.io/sigstore/scaffolding/server',
    tag: 'v0.7.31',
    digest: 'sha256:ae8eb69c7b7065456370c7025ff781487704352d73231b08d16b525b0cb16b54',
    source: 'sigstore/helm-charts:charts/tuf/values.yaml (chart 0.1.30, "v0.7.31")',
  },
  /**
   * Rekor v2 (sigstore/rekor-tiles), POSIX backend. The pair tag + digest as scaffolding runs it
   * (helm-charts' rekor-tiles chart 1.2.1 pins a v2.3.0 digest under the tag v2.2.1, so it is not
   * used). Flags checked at v2.2.1: lib/k8s/rekor-tiles.ts.
   */
  rekorTilesPosix: {
    name: 'rekor-tiles-posix',
    repository: 'ghcr.io/sigstore/rekor-tiles/posix',
    tag: 'v2.2.1',
    digest: 'sha256:627422bf9da146d1d9ff4e1c1e8301a1780ab6ad9b32bccff51ecd9f8c820e41',
    source: 'sigstore/scaffolding:config/rekor-tiles/rekor-tiles/300-rekor.yaml (commit 5444af42)',
  },
  /** TesseraCT (transparency-dev/tesseract), POSIX backend. Flags checked at v0.1.1: lib/k8s/tesseract.ts. */
  tesseractPosix: {
    name: 'tesseract-posix',
    repository: 'ghcr.io/transparency-dev/tesseract/posix',
    tag: 'v0.1.1',
    digest: 'sha256:8269c32a1b1deb159ba75016421314cb5e68304c2813d444aca3efdf0e9d5027',
    source: 'sigstore/scaffolding:config/ctlog/ctlog/300-ctlog.yaml (commit 5444af42)',
  },
  /** A small image with a POSIX shell and sed, for the init container that renders ct_server's config. */
  curl: {
    name: 'curl',
    repository: 'docker.io/curlimages/curl',
    tag: '8.17.0',
    digest: 'sha256:935d9100e9ba842cdb060de42472c7ca90cfe9a7c96e4dacb55e79e560b3ff40',
    source: 'sigstore/helm-charts:charts/ctlog/values.yaml (chart 0.2.67, createctconfig.initContainerImage.curl)',
  },
} as const satisfies Record<string, PinnedImage>;

export type ImageKey = keyof typeof IMAGES;

/** Where images are pulled from instead of their upstream registries. */
export interface ImageMirror {
  /** Registry host, e.g. `swr.eu-de.otc.t-systems.com`. */
  readonly registry: string;
  /** Organization (namespace) in the registry. */
  readonly organization: string;
}

/** The reference a pod pulls: upstream `repository:tag@digest`, or the mirror's `cache-<name>:<tag>@<digest>`. */
export function imageReference(image: PinnedImage, mirror?: ImageMirror): string {
  const repository = mirror ? mirrorRepository(image, mirror) : image.repository;
  return `${repository}:${image.tag}@${image.digest}`;
}

/** The mirror repository of an image: `<registry>/<organization>/cache-<name>`. */
export function mirrorRepository(image: PinnedImage, mirror: ImageMirror): string {
  return `${mirror.registry}/${mirror.organization}/cache-${image.name}`;
}

/** What to copy into a mirror: for each image, the upstream source and the mirror target. */
export interface MirroredImage {
  /** Mirror repository name inside the organization (`cache-<name>`), e.g. an SWR repository. */
  readonly repositoryName: string;
  readonly tag: string;
  readonly digest: string;
  /** Upstream reference to copy from (`repository:tag@digest`). */
  readonly source: string;
  /** Full mirror reference the chart pulls (`<registry>/<organization>/cache-<name>:<tag>@<digest>`). */
  readonly target: string;
}

/**
 * Every image the cluster chart may run, as the mirror must hold it. The cloud stack names its SWR
 * repositories after `repositoryName`; a copy job runs e.g. `crane copy <source> <registry>/<org>/<repositoryName>:<tag>`.
 */
export function mirroredImages(mirror: ImageMirror): MirroredImage[] {
  return Object.values(IMAGES).map((image: PinnedImage) => ({
    repositoryName: `cache-${image.name}`,
    tag: image.tag,
    digest: image.digest,
    source: imageReference(image),
    target: imageReference(image, mirror),
  }));
}

/**
 * The `<name>` of every image, in table order: a mirror holds each as `cache-<name>` (the cloud stack
 * creates one SWR repository per name).
 */
export function mirroredImageNames(): string[] {
  return Object.values(IMAGES).map((image: PinnedImage) => image.name);
}
