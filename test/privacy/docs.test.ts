/**
 * The privacy document (docs/privacy.md) stays true: its retention table is the code's, every promise P4–P14 has a row, and
 * every test file it cites exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deletedBy, retentionTable } from '../../functions/src/privacy/retention';

const root = resolve(__dirname, '../..');
const doc = readFileSync(resolve(root, 'docs/privacy.md'), 'utf8');

describe('docs/privacy.md: privacy promises', () => {
  it('prints the retention table the job applies, row for row', () => {
    const section = doc.slice(doc.indexOf('## Retention table'), doc.indexOf('## Functions'));
    const rows = section.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| data class'));
    expect(rows).toEqual(retentionTable.map((rule) => `| ${rule.dataClass} | \`${rule.location}\` | ${rule.kept} | ${deletedBy(rule)} |`));
  });

  it('maps every promise P4–P14 to code and to tests that exist', () => {
    for (let n = 4; n <= 14; n++) expect(doc, `P${n}`).toMatch(new RegExp(`^\\| P${n} \\|`, 'm'));
    const cited = [...new Set(doc.match(/test\/[a-z/-]+\.test\.ts/g) ?? [])];
    expect(cited.length).toBeGreaterThan(8);
    for (const file of cited) expect(existsSync(resolve(root, file)), file).toBe(true);
  });
});
