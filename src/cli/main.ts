#!/usr/bin/env node
// Entry point of the `avvp` command: dispatches to a sub-command from the registry.
import { readFile } from 'node:fs/promises';
import { CliError } from './command.js';
import { commands } from './commands/index.js';

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(await overview());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`avvp: unknown command '${name}'. Run 'avvp --help' for the list.\n`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.usage.endsWith('\n') ? command.usage : command.usage + '\n');
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`avvp ${name}: ${err.message}\n`);
      if (err.exitCode === 2) process.stderr.write(`Run 'avvp ${name} --help' for usage.\n`);
      return err.exitCode;
    }
    throw err;
  }
}

async function overview(): Promise<string> {
  const lines = ['avvp — real-time audio-visual video parser', '', 'Usage: avvp <command> [options]', ''];
  const loaded = await Promise.all(Object.values(commands).map((load) => load()));
  const width = Math.max(0, ...loaded.map((c) => c.name.length));
  for (const c of loaded) lines.push(`  ${c.name.padEnd(width)}  ${c.summary}`);
  lines.push('', "Run 'avvp <command> --help' for a command's options.", '');
  return lines.join('\n');
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `avvp: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
