import { LocalBackend, S3Backend, type TerraformBackend } from 'cdktf';
import type { Construct } from 'constructs';
import type { CloudConfig } from '../config/cloud-schema';
import { obsEndpoint, type OtcRegion } from '../otc/endpoints';

/**
 * The stack's working directory is `<cdktf.out>/stacks/<stack>/`; a local state path is written
 * relative to it, pointing beside `cdktf.out/` so that re-synthesizing never touches the state.
 */
const FROM_STACK_DIRECTORY_TO_PROJECT = '../../..';

/**
 * The explicit Terraform backend of a stack. Left implicit, cdktf writes the absolute working
 * directory into the output; both backends here are written without any absolute path and without
 * credentials: the OBS (S3) backend reads `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (an OTC AK/SK)
 * from the environment.
 */
export function addStateBackend(stack: Construct, stackName: string, env: string, region: OtcRegion, backend: CloudConfig['stateBackend']): TerraformBackend {
  switch (backend.kind) {
    case 'local':
      return new LocalBackend(stack, { path: `${FROM_STACK_DIRECTORY_TO_PROJECT}/${backend.path ?? `terraform.${stackName}.tfstate`}` });
    case 'obs':
      return new S3Backend(stack, {
        bucket: backend.bucket,
        key: backend.key ?? `sigstore/${env}/terraform.tfstate`,
        region,
        endpoints: { s3: obsEndpoint(region) },
        // OBS speaks the S3 API but is not AWS: no STS, no IMDS, no account id, no AWS checksums.
        skipRegionValidation: true,
        skipCredentialsValidation: true,
        skipRequestingAccountId: true,
        skipMetadataApiCheck: true,
        skipS3Checksum: true,
      });
  }
}
