/**
 * KMS key states (DEW KMS `key_state`) and how they are named in messages: what the commands that
 * only read key infos need, without the KMS client and its response schemas.
 */
/** `key_state` codes. */
export const KEY_STATES: Readonly<Record<string, string>> = {
  '1': 'waiting for activation',
  '2': 'enabled',
  '3': 'disabled',
  '4': 'pending deletion',
  '5': 'waiting for key material import',
};
export const KEY_STATE_ENABLED = '2';

/** `2 (enabled)` */
export function describeKeyState(state: string): string {
  return `${state} (${KEY_STATES[state] ?? 'unknown state'})`;
}
