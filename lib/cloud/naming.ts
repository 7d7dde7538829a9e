import { endpointTextProblem } from '../config/field-rules';

/*
 * Naming rules of the OTC services the cloud stack creates resources in. Each function returns
 * what is wrong with a name (a sentence naming the rule) or undefined when the name is valid.
 * The configuration schema and the construct constructors both use them, so a bad name is caught
 * with its field path when the environment file is read, and with its construct path when a
 * construct is used directly.
 */

/**
 * OBS bucket names: 3-63 lowercase letters, digits and hyphens, starting and ending with a letter or
 * digit. OBS itself also allows periods, but a dotted name breaks TLS with virtual-hosted addressing
 * (`<bucket>.obs.<region>.otc.t-systems.com` no longer matches the `*.obs...` certificate), so we
 * refuse them (terraform-provider-opentelekomcloud#3414).
 */
export function obsBucketNameProblem(name: string): string | undefined {
  if (name.includes('.')) return 'must not contain "." (a dotted bucket name breaks TLS with virtual-hosted OBS addresses)';
  if (name.length < 3 || name.length > 63) return `must be 3-63 characters long (it has ${name.length})`;
  if (!/^[a-z0-9][a-z0-9-]*[a-z0-9]$/.test(name)) {
    return 'must consist of lowercase letters, digits and "-", and start and end with a letter or digit';
  }
  return undefined;
}

/**
 * SWR organization names: 1-64 characters, lowercase letters, digits, ".", "_" and "-", starting with
 * a letter and ending with a letter or digit; separators never next to each other, except "__".
 */
export function swrOrganizationNameProblem(name: string): string | undefined {
  if (name.length < 1 || name.length > 64) return `must be 1-64 characters long (it has ${name.length})`;
  if (!/^[a-z][a-z0-9]*(?:(?:[.-]|_{1,2})[a-z0-9]+)*$/.test(name)) {
    return 'must start with a lowercase letter, end with a letter or digit, and use only lowercase letters, digits and single ".", "-" or "_" (at most "__") between them';
  }
  return undefined;
}

/**
 * SWR repository names: 1-128 characters, lowercase letters, digits, ".", "/", "_" and "-", starting
 * and ending with a letter or digit; separators never next to each other, except "__".
 */
export function swrRepositoryNameProblem(name: string): string | undefined {
  if (name.length < 1 || name.length > 128) return `must be 1-128 characters long (it has ${name.length})`;
  if (!/^[a-z0-9]+(?:(?:[./-]|_{1,2})[a-z0-9]+)*$/.test(name)) {
    return 'must start and end with a lowercase letter or digit and use only lowercase letters, digits and single ".", "/", "-" or "_" (at most "__") between them';
  }
  return undefined;
}

/**
 * The prefix of every name the stack gives (alarms, SMN topic, KMS alias): lowercase letters, digits
 * and "-", starting with a letter, at most 40 characters. It fits every service's rules: CES alarm
 * names, SMN topic names and KMS aliases all accept it with a suffix.
 */
export function namePrefixProblem(prefix: string): string | undefined {
  if (!/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/.test(prefix)) {
    return 'must be 2-40 lowercase letters, digits and "-", starting with a letter and ending with a letter or digit';
  }
  return undefined;
}

/** Resource tags on OBS, KMS and SMN: keys of 1-36 and values of 0-43 safe characters. */
export function tagProblem(key: string, value: string): string | undefined {
  if (!/^[A-Za-z0-9_.-]{1,36}$/.test(key)) return `tag key ${JSON.stringify(key)} must be 1-36 letters, digits, "_", "." or "-"`;
  if (key.toLowerCase().startsWith('_sys_')) return `tag key ${JSON.stringify(key)} must not start with "_sys_" (reserved)`;
  if (!/^[A-Za-z0-9_.:@-]{0,43}$/.test(value)) {
    return `tag value ${JSON.stringify(value)} of ${JSON.stringify(key)} must be at most 43 letters, digits, "_", ".", ":", "@" or "-"`;
  }
  return undefined;
}

/**
 * The public SWR registry host of an OTC region (`swr.eu-de.otc.t-systems.com`), or undefined when
 * the host is not an OTC SWR registry (a Harbor, a Nexus...).
 */
export function swrRegionOfRegistry(registry: string): string | undefined {
  return /^swr\.([a-z0-9-]+)\.(?:sc\.)?otc\.t-systems\.com$/.exec(registry)?.[1];
}

/** KMS key aliases: 1-255 letters, digits, ":", "/", "_" and "-"; "/default" endings are reserved. */
export function kmsAliasProblem(alias: string): string | undefined {
  if (!/^[a-zA-Z0-9:/_-]{1,255}$/.test(alias)) return 'must be 1-255 letters, digits, ":", "/", "_" or "-"';
  if (alias.endsWith('/default')) return 'must not end in "/default" (reserved by KMS)';
  return undefined;
}

/** SMN subscription protocols. */
export const SMN_PROTOCOLS = ['email', 'sms', 'https', 'http'] as const;
export type SmnProtocol = (typeof SMN_PROTOCOLS)[number];

/**
 * An SMN subscription endpoint must fit its protocol: a mail address (at most 254 characters, no
 * whitespace, quotes or control characters), an E.164 number, or a URL (at most 2048 characters, none
 * of the characters a URL parser would silently drop or rewrite).
 */
export function smnEndpointProblem(protocol: SmnProtocol, endpoint: string): string | undefined {
  switch (protocol) {
    case 'email':
      return endpoint.length <= 254 && /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(endpoint)
        ? undefined
        : 'expected a mail address for protocol "email" (at most 254 characters, no spaces, quotes or control characters)';
    case 'sms':
      return /^\+[1-9][0-9]{6,14}$/.test(endpoint) ? undefined : 'expected a phone number in E.164 form, e.g. "+4930123456", for protocol "sms"';
    case 'https':
    case 'http': {
      const text = endpointTextProblem(endpoint);
      if (text) return `${text}, for protocol "${protocol}"`;
      try {
        if (new URL(endpoint).protocol === `${protocol}:`) return undefined;
      } catch {
        // reported below
      }
      return `expected a ${protocol}:// URL for protocol "${protocol}"`;
    }
  }
}

/** Our own name of a subscription: it becomes part of its Terraform address. */
export function subscriptionNameProblem(name: string): string | undefined {
  return /^[a-z0-9_]{1,32}$/.test(name) ? undefined : 'must be 1-32 lowercase letters, digits and "_"';
}
