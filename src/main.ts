import { Logger } from '@nestjs/common';
import { createHeraldApp, drainAndClose, listen } from './bootstrap.js';
import { ConfigInvalidError } from './config/config.errors.js';
import { loadSettings } from './config/config.loader.js';
import type { HeraldSettings } from './config/herald-config.js';

async function main(): Promise<void> {
  let settings: HeraldSettings;
  try {
    settings = loadSettings();
  } catch (error) {
    if (error instanceof ConfigInvalidError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  // After the app exists, so this goes through pino like every other line.
  const app = await createHeraldApp(settings);
  const logger = new Logger('Herald');
  if (settings.usingDevDefaults) {
    logger.warn(
      'No apps configured (HERALD_APPS / HERALD_CONFIG): using the INSECURE development app ' +
        'id "app-id", key "app-key", secret "app-secret", API key "app-api-key". Never expose this to a network.',
    );
  }
  const address = await listen(app, settings);
  logger.log(`Herald listening on ${address} (adapter: ${settings.adapter}, apps: ${settings.apps.map((a) => a.id).join(', ')})`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received: draining`);
    const force = setTimeout(() => {
      logger.error('Grace period exceeded; exiting');
      process.exit(1);
    }, settings.shutdownGraceMs);
    force.unref();
    drainAndClose(app, settings).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(`Shutdown failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
