/**
 * Rules coverage in the shape of the emulator's `GET /emulator/v1/projects/{id}:ruleCoverage`: the ruleset
 * source and, for every expression, an ExpressionReport as the Firebase Rules API defines it
 * (`sourcePosition {fileName, line, column, currentOffset, endOffset}`, `values [{value, count}]`,
 * `children [...]`; Firebase Rules API v1 types ExpressionReport, SourcePosition and ValueCount).
 *
 * Values are recorded as typed JSON ({boolValue}, {intValue}, {stringValue}, ...). Scalars are kept apart by
 * value; lists, maps and other composite values are counted per type, showing the first one seen; errors are
 * recorded as {errorValue: message}. At most 50 distinct values are kept per expression.
 */
import type { Node, Program } from './program';
import { RValue, Unknown, formatFloat, timestampToIso, typeName } from './values';

export function coverageKey(v: RValue): string {
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return `i${v}`;
    case 'number':
      return `f${v}`;
    case 'string':
      return `s${v.length > 200 ? v.slice(0, 200) : v}`;
  }
  if (v === null) return 'null';
  if (v instanceof Unknown) return `unknown:${v.what}`;
  return `type:${typeName(v)}`;
}

export function coverageValue(v: RValue, depth = 0): unknown {
  switch (typeof v) {
    case 'boolean':
      return { boolValue: v };
    case 'bigint':
      return { intValue: String(v) };
    case 'number':
      return { floatValue: Number.isFinite(v) ? v : formatFloat(v) };
    case 'string':
      return { stringValue: v };
  }
  if (v === null) return { nullValue: null };
  if (depth > 3) return { truncated: true };
  if (Array.isArray(v)) return { listValue: { values: v.slice(0, 20).map((x) => coverageValue(x, depth + 1)) } };
  if (v instanceof Uint8Array) return { bytesValue: Buffer.from(v).toString('base64') };
  switch (v.kind) {
    case 'map': {
      const fields: Record<string, unknown> = {};
      let count = 0;
      for (const [key, value] of v.entries()) {
        if (count++ === 20) break;
        fields[key] = coverageValue(value, depth + 1);
      }
      return { mapValue: { fields } };
    }
    case 'timestamp':
      return { timestampValue: timestampToIso(v) };
    case 'duration':
      return { durationValue: `${Number(v.nanos) / 1e9}s` };
    case 'path':
      return { pathValue: v.toString() };
    case 'set':
      return { setValue: { values: v.items.slice(0, 20).map((x) => coverageValue(x, depth + 1)) } };
    case 'latlng':
      return { latlngValue: { latitude: v.lat, longitude: v.lng } };
    case 'map_diff':
      return { mapDiffValue: {} };
    case 'partial_map':
    case 'contains_list':
    case 'unknown':
      return { unknownValue: v.what };
  }
}

export interface ExpressionReport {
  sourcePosition: { fileName: string; line: number; column: number; currentOffset: number; endOffset: number };
  values: { value: unknown; count: number }[];
  children: ExpressionReport[];
}

export function coverageReport(program: Program): { rules: { files: { name: string; content: string }[] }; report: ExpressionReport[] } {
  // Positions are those of the expression's first character (node.loc.line/column point at the operator, for
  // error messages), so they agree with currentOffset.
  const lineStarts = [0];
  for (let i = 0; i < program.source.length; i++) if (program.source[i] === '\n') lineStarts.push(i + 1);
  const position = (offset: number): { line: number; column: number } => {
    let line = lineStarts.length - 1;
    while (lineStarts[line] > offset) line--;
    return { line: line + 1, column: offset - lineStarts[line] + 1 };
  };
  const report = (node: Node): ExpressionReport => ({
    sourcePosition: { fileName: program.fileName, ...position(node.loc.start), currentOffset: node.loc.start, endOffset: node.loc.end },
    values: [...node.coverage.values.values()].map(({ value, count }) => ({ value, count })),
    children: node.children.map(report),
  });
  return { rules: { files: [{ name: program.fileName, content: program.source }] }, report: program.roots.map(report) };
}
