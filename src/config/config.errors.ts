/** Start-up refuses to run with a bad configuration; `problems` names every bad field at once. */
export class ConfigInvalidError extends Error {
  readonly code = 'config_invalid' as const;
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}
