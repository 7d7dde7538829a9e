/*
 * The container images of the stack, one row each. A mirror (`images.mirror` in the environment
 * file) rewrites every image to `<registry>/<organization>/cache-<name>:<tag>@<digest>`, so the
 * mirror needs one repository `cache-<name>` per row: the cloud stack creates them in SWR.
 *
 * NOTE: minimal version created by the cloud stack (issue 4) so that its SWR repositories follow
 * the one table. The cluster chart (issue 3) owns this table: tags, digests and the rewrite belong
 * there; keep `name` and `mirroredImageNames()` when merging.
 */

/** One image of the stack. */
export interface ImageSpec {
  /** Mirror repository suffix: the image is mirrored as `cache-<name>`. */
  readonly name: string;
  /** Upstream repository, without tag or digest. */
  readonly repository: string;
}

/** Every image the stack runs (sigstore-stack.md, "Images" of each component). */
export const IMAGES: readonly ImageSpec[] = [
  { name: 'trillian_log_server', repository: 'ghcr.io/sigstore/scaffolding/trillian_log_server' },
  { name: 'trillian_log_signer', repository: 'ghcr.io/sigstore/scaffolding/trillian_log_signer' },
  { name: 'db_server', repository: 'gcr.io/trillian-opensource-ci/db_server' },
  { name: 'createtree', repository: 'ghcr.io/sigstore/scaffolding/createtree' },
  { name: 'createdb', repository: 'ghcr.io/sigstore/scaffolding/createdb' },
  { name: 'rekor-server', repository: 'ghcr.io/sigstore/rekor/rekor-server' },
  { name: 'redis', repository: 'docker.io/library/redis' },
  { name: 'ct_server', repository: 'ghcr.io/sigstore/scaffolding/ct_server' },
  { name: 'fulcio', repository: 'ghcr.io/sigstore/fulcio' },
  { name: 'timestamp-server', repository: 'ghcr.io/sigstore/timestamp-server' },
  { name: 'tuf-server', repository: 'ghcr.io/sigstore/scaffolding/server' },
];

/** The `<name>` of every image, in table order: a mirror holds each as `cache-<name>`. */
export function mirroredImageNames(): string[] {
  return IMAGES.map((image) => image.name);
}
