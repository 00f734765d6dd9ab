/**
 * @module `cordon jurisdictions import FILE | list`: the jurisdiction tree with its polygons (GeoJSON
 * with properties code, name, name_en, level, parent — e.g. the synthetic city's jurisdictions.geojson).
 */
import type { Command } from 'commander';
import { CLI_ACTOR, withLoop } from './case.ts';

export function registerJurisdictions(program: Command): void {
  const j = program.command('jurisdictions').description('the jurisdiction tree: import from GeoJSON, list');

  j.command('import <file>')
    .description('import (insert or update) jurisdictions from a GeoJSON FeatureCollection')
    .action(async (file: string, _flags: unknown, cmd: Command) => {
      await withLoop(cmd, false, async (loop) => {
        const r = await loop.jurisdictions.importFile(CLI_ACTOR, file);
        const levels = Object.entries(r.byLevel).map(([k, n]) => `${n} ${k}`).join(', ');
        process.stdout.write(`imported ${r.imported} jurisdictions (${levels})\n`);
      });
    });

  j.command('list')
    .description('list the tree')
    .option('--json', 'print as JSON (without polygons)')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      await withLoop(cmd, false, async (loop) => {
        const list = await loop.jurisdictions.list(CLI_ACTOR);
        const tree = await loop.jurisdictions.tree();
        process.stdout.write(
          flags.json
            ? JSON.stringify(list, null, 2) + '\n'
            : list.map((n) => `${'  '.repeat(tree.ancestors(n.code).length - 1)}${n.code}  ${n.name}${n.nameEn ? ` (${n.nameEn})` : ''}  ${n.level}`).join('\n') + '\n',
        );
      });
    });
}
