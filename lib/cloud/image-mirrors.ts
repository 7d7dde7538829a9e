import { SwrOrganizationV2 } from '@cdktf/provider-opentelekomcloud/lib/swr-organization-v2';
import { SwrRepositoryV2 } from '@cdktf/provider-opentelekomcloud/lib/swr-repository-v2';
import { Construct } from 'constructs';
import { LOGICAL_IDS, mirrorRepositoryId, withLogicalId } from './addresses';
import { invalidProps } from './invalid-props';
import { swrOrganizationNameProblem, swrRepositoryNameProblem } from './naming';

export interface ImageMirrorsProps {
  /** SWR organization (namespace) of the mirror: `images.mirror.organization`. */
  readonly organization: string;
  /** Image names of the image table; each gets a private repository `cache-<name>`. */
  readonly imageNames: readonly string[];
}

/**
 * The SWR organization and one private repository per image, named as the cluster chart's mirror
 * rewrite expects: `<registry>/<organization>/cache-<name>`. The provider has no image-sync
 * resource: copying the images (skopeo or crane, pinned by digest) is a CI job.
 */
export class ImageMirrors extends Construct {
  readonly organization: SwrOrganizationV2;
  /** Repositories by image name. */
  readonly repositories: ReadonlyMap<string, SwrRepositoryV2>;

  constructor(scope: Construct, id: string, props: ImageMirrorsProps) {
    super(scope, id);
    const organizationProblem = swrOrganizationNameProblem(props.organization);
    if (organizationProblem) invalidProps(this, 'organization', props.organization, `an SWR organization name that ${organizationProblem}`);
    if (props.imageNames.length === 0) invalidProps(this, 'imageNames', props.imageNames, 'at least one image name');
    this.organization = withLogicalId(new SwrOrganizationV2(this, 'Organization', { name: props.organization }), LOGICAL_IDS.mirrorOrganization);

    const repositories = new Map<string, SwrRepositoryV2>();
    const logicalIds = new Map<string, string>();
    for (const imageName of props.imageNames) {
      const repositoryName = `cache-${imageName}`;
      const nameProblem = swrRepositoryNameProblem(repositoryName);
      if (nameProblem) invalidProps(this, 'imageNames', imageName, `a name whose repository "${repositoryName}" ${nameProblem}`);
      const logicalId = mirrorRepositoryId(imageName);
      const clash = logicalIds.get(logicalId);
      if (clash !== undefined) {
        invalidProps(this, 'imageNames', imageName, `a name whose Terraform address differs from that of "${clash}" (both would be ${logicalId})`);
      }
      logicalIds.set(logicalId, imageName);
      repositories.set(
        imageName,
        withLogicalId(
          new SwrRepositoryV2(this, `Repository-${imageName}`, {
            organization: this.organization.name,
            name: repositoryName,
            isPublic: false,
            description: `Mirror of the ${imageName} image (sigstore-cdk)`,
          }),
          logicalId,
        ),
      );
    }
    this.repositories = repositories;
  }
}
