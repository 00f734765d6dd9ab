/**
 * @module The `cordon` command. Each subcommand lives in `commands/<name>.ts`, parses its input,
 * calls one service and formats the result.
 */
import { Command } from 'commander';
import { ConfigError } from '../config.ts';
import { registerCommands } from './commands/index.ts';

const program = new Command()
  .name('cordon')
  .description('Cordon — outbreak contact tracing and closed-loop response (疫情流调溯源与闭环处置指挥平台)')
  .showHelpAfterError()
  .option('--data <dir>', 'data folder (env CORDON_DATA, default ./data)');

registerCommands(program);

// A reader that stops early (`cordon trace … | head`) closes the pipe: that ends the output, it is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`cordon: ${err.message}`);
    process.exit(2);
  }
  const message = err instanceof Error ? err.message : String(err);
  console.error(`cordon: ${message}`);
  if (process.env.CORDON_DEBUG && err instanceof Error) console.error(err.stack);
  process.exit(1);
}
