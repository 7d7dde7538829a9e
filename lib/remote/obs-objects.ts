import {
  DeleteObjectCommand,
  GetBucketAclCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type GetBucketAclCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { StateError } from '../errors';
import { redactServerText } from '../redaction';
import type { ObsStateLocation } from './obs-connection';

/** One object as a listing shows it. */
export interface ListedObject {
  readonly key: string;
  /** The server's clock when the object was last written (OBS/S3 listings carry seconds). */
  readonly lastModified: Date;
  readonly size: number;
}

/**
 * The few S3 operations the remote state uses, on one bucket, with failures as typed errors naming the
 * operation, the key, the HTTP status and the S3 error code (never a credential: server text is
 * redacted). Every write carries SSE-KMS with the configured key.
 */
export class ObsObjects {
  constructor(
    private readonly s3: S3Client,
    readonly location: ObsStateLocation,
  ) {}

  /** The object's bytes, or undefined when it does not exist. */
  async get(key: string): Promise<Buffer | undefined> {
    try {
      const answer = await this.s3.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: key }));
      return Buffer.from(await answer.Body!.transformToByteArray());
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.failure('GetObject', key, error);
    }
  }

  /** Whether the object exists. */
  async exists(key: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: key }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw this.failure('HeadObject', key, error);
    }
  }

  /** Writes an object, encrypted server-side with the state's KMS key (SSE-KMS). */
  async put(key: string, body: Buffer | string, contentType = 'application/octet-stream'): Promise<void> {
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.location.bucket,
          Key: key,
          Body: typeof body === 'string' ? Buffer.from(body) : body,
          ContentType: contentType,
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: this.location.kmsKeyId,
        }),
      );
    } catch (error) {
      throw this.failure('PutObject', key, error);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: key }));
    } catch (error) {
      if (isNotFound(error)) return;
      throw this.failure('DeleteObject', key, error);
    }
  }

  /** Every object under `prefix` (all pages). */
  async list(prefix: string): Promise<ListedObject[]> {
    const objects: ListedObject[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: prefix, ContinuationToken: token }));
      } catch (error) {
        throw this.failure('ListObjectsV2', prefix, error);
      }
      for (const entry of page.Contents ?? []) {
        if (entry.Key) objects.push({ key: entry.Key, lastModified: entry.LastModified ?? new Date(0), size: entry.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects;
  }

  /** The bucket's versioning status (`Enabled`, `Suspended`, or undefined: never enabled). */
  async versioning(): Promise<string | undefined> {
    try {
      return (await this.s3.send(new GetBucketVersioningCommand({ Bucket: this.location.bucket }))).Status;
    } catch (error) {
      throw this.failure('GetBucketVersioning', '', error);
    }
  }

  async acl(): Promise<GetBucketAclCommandOutput> {
    try {
      return await this.s3.send(new GetBucketAclCommand({ Bucket: this.location.bucket }));
    } catch (error) {
      throw this.failure('GetBucketAcl', '', error);
    }
  }

  /** The bucket policy as JSON text, or undefined when the bucket has none. */
  async policy(): Promise<string | undefined> {
    try {
      return (await this.s3.send(new GetBucketPolicyCommand({ Bucket: this.location.bucket }))).Policy;
    } catch (error) {
      if (errorName(error) === 'NoSuchBucketPolicy' || status(error) === 404) return undefined;
      throw this.failure('GetBucketPolicy', '', error);
    }
  }

  private failure(operation: string, key: string, error: unknown): StateError {
    const where = `obs://${this.location.bucket}/${key}`;
    const http = status(error);
    const name = errorName(error);
    const requestId = (error as { $metadata?: { requestId?: string } }).$metadata?.requestId;
    const detail = redactServerText((error as Error)?.message ?? String(error));
    const hint =
      name === 'NoSuchBucket'
        ? `the bucket ${this.location.bucket} does not exist: apply the cloud stack first, or set state.bucket`
        : http === 403
          ? `the access key (${this.location.credentials}) lacks the OBS permission, or the clock is off`
          : http === undefined
            ? `${this.location.endpoint} could not be reached: check otc.endpoints.obs, the network and the OTC status`
            : 'check the OTC status and run again';
    return new StateError(
      name === 'NoSuchBucket' ? 'STATE_REMOTE_BUCKET_UNSAFE' : 'STATE_REMOTE_UNAVAILABLE',
      `OBS ${operation} ${where} failed (${http !== undefined ? `HTTP ${http}` : 'no answer'}${name ? `, ${name}` : ''}${requestId ? `, request id ${requestId}` : ''}): ${detail}; ${hint}`,
      { cause: error },
    );
  }
}

function status(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function errorName(error: unknown): string | undefined {
  const name = (error as { name?: string; Code?: string })?.Code ?? (error as { name?: string })?.name;
  return name && name !== 'Error' ? name : undefined;
}

function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  return name === 'NoSuchKey' || name === 'NotFound' || (status(error) === 404 && name !== 'NoSuchBucket');
}
