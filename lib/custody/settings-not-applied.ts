import type { Certificate } from '../pki/certificate';
import { addDuration, type Duration } from '../config/duration';
import type { SigstoreConfig } from '../config/schema';
import type { PkiMaterial } from '../pki/state-items';

/** One setting of the configuration that the minted certificates do not carry. */
export interface SettingNotApplied {
  /** The configuration field, e.g. `organization`, `pki.fulcio.intermediateValidity`. */
  readonly field: string;
  /** The certificate, e.g. `Fulcio intermediate`. */
  readonly certificate: string;
  /** What the configuration says. */
  readonly configured: string;
  /** What the certificate carries. */
  readonly minted: string;
}

/**
 * The settings that reach certificates only when they are minted (the organization in every subject,
 * the validity periods) and that differ from what the state's certificates carry. Minted
 * certificates are published trust: they are never re-minted to follow the configuration (lib/custody),
 * so such a change takes effect only with a new generation (rotation). Reported, never ignored.
 */
export function settingsNotApplied(config: SigstoreConfig, material: PkiMaterial): SettingNotApplied[] {
  const found: SettingNotApplied[] = [];
  const certificates: { name: string; certificate: Certificate; issuer?: Certificate; field: string; validity: Duration }[] = [
    { name: 'Fulcio root', certificate: material.fulcio.root, field: 'pki.fulcio.rootValidity', validity: config.pki.fulcio.rootValidity },
    { name: 'Fulcio intermediate', certificate: material.fulcio.intermediate, issuer: material.fulcio.root, field: 'pki.fulcio.intermediateValidity', validity: config.pki.fulcio.intermediateValidity },
    { name: 'TSA root', certificate: material.tsa.root, field: 'pki.tsa.rootValidity', validity: config.pki.tsa.rootValidity },
    { name: 'TSA intermediate', certificate: material.tsa.intermediate, issuer: material.tsa.root, field: 'pki.tsa.intermediateValidity', validity: config.pki.tsa.intermediateValidity },
    { name: 'TSA leaf', certificate: material.tsa.leaf, issuer: material.tsa.intermediate, field: 'pki.tsa.leafValidity', validity: config.pki.tsa.leafValidity },
  ];
  for (const { name, certificate, issuer, field, validity } of certificates) {
    const organizations = certificate.subjectField('O');
    if (organizations.length !== 1 || organizations[0] !== config.organization) {
      found.push({ field: 'organization', certificate: name, configured: JSON.stringify(config.organization), minted: JSON.stringify(organizations.join(', ')) });
    }
    // Minting sets notAfter = notBefore + validity, capped at the issuer's notAfter (lib/pki/bootstrap.ts).
    const wanted = addDuration(certificate.notBefore, validity);
    const expected = issuer && wanted.getTime() > issuer.notAfter.getTime() ? issuer.notAfter : wanted;
    if (Math.floor(expected.getTime() / 1000) !== Math.floor(certificate.notAfter.getTime() / 1000)) {
      found.push({
        field,
        certificate: name,
        configured: `${validity.amount}${validity.unit}`,
        minted: `valid ${certificate.notBefore.toISOString()} to ${certificate.notAfter.toISOString()}`,
      });
    }
  }
  return found;
}

/** One line per setting and minted value (certificates that carry the same value share a line), for warnings. */
export function describeSettingsNotApplied(settings: readonly SettingNotApplied[]): string[] {
  const groups = new Map<string, { setting: SettingNotApplied; certificates: string[] }>();
  for (const setting of settings) {
    const key = JSON.stringify([setting.field, setting.configured, setting.minted]);
    const group = groups.get(key) ?? { setting, certificates: [] };
    group.certificates.push(setting.certificate);
    groups.set(key, group);
  }
  return [...groups.values()].map(
    ({ setting, certificates }) =>
      `${setting.field} is ${setting.configured}, but the minted ${certificates.join(', ')} ${certificates.length === 1 ? 'carries' : 'carry'} ${setting.minted}: ` +
      'minted certificates are never re-minted, so the setting takes effect only with a rotation (a new generation)',
  );
}
