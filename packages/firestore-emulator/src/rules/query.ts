/**
 * "Rules are not filters" (https://firebase.google.com/docs/firestore/security/rules-query): a list request is
 * judged from the query's constraints, never from the documents that exist. The list rules are evaluated once
 * per branch of the query's filter (each `in` / `array-contains-any` value and each `or` disjunct is a branch,
 * as the reference describes for OR queries), with `resource` symbolic:
 *
 * - `resource.data.f` is the filter value when the branch has an equality (`==`, `in`, `is null`, `is NaN`) on f;
 *   nested field paths (`a.b == 1`) make `resource.data.a` a map with only `b` known.
 * - an `array-contains` (or `array-contains-any` branch) on f makes `v in resource.data.f` true for that value;
 *   anything else about f is unknown.
 * - every other field, and `resource.id` / `resource.__name__` unless the branch has `__name__ ==`, is unknown:
 *   any use of an unknown value is an error, so the allow statement denies unless `||`/`&&` short-circuits it.
 * - `request.query` holds `limit`, `offset` (each only when set) and `orderBy` (a map field -> 'ASC' | 'DESC').
 *
 * Stricter than Google, on purpose (documented in README.md): range filters (<, >, !=, not-in) contribute
 * nothing, so a rule `resource.data.x > 5` never allows a list, even under a query `x > 5`; and the branches
 * of one query are each judged alone.
 */
import type { StructuredQuery, Value } from '../engine/api';
import { ContainsList, EvalError, PartialMap, PlainMap, RPath, RValue, fromProto, render } from './values';

type Filter = NonNullable<StructuredQuery['where']>;

interface Atom {
  path: string[];
  kind: 'eq' | 'contains';
  value: RValue;
}

export interface QueryBranch {
  /** The segments of the document path from a `__name__ ==` (or `__name__ in`) filter, when the branch pins it. */
  name: string[] | null;
  /** resource.data for this branch. */
  data: PartialMap;
  /** The filters that define the branch, for messages. */
  description: string;
}

/** Firestore caps disjunctions at 30; more branches than this is refused rather than evaluated. */
export const MAX_BRANCHES = 100;

export function queryBranches(where: Filter | null | undefined): QueryBranch[] {
  const conjuncts = where ? disjunctiveNormalForm(where) : [[]];
  return conjuncts.map((atoms) => {
    const nameAtom = atoms.find((a) => a.path.length === 1 && a.path[0] === '__name__' && a.kind === 'eq');
    const dataAtoms = atoms.filter((a) => a.path[0] !== '__name__');
    return {
      name: nameAtom ? documentSegments(nameAtom.value) : null,
      data: buildData(dataAtoms, 'resource.data'),
      description: atoms.map(describeAtom).join(' && ') || 'no equality filters',
    };
  });
}

/** The segments of the path a `__name__` filter compares with (a reference value converts to a path of strings). */
function documentSegments(value: RValue): string[] | null {
  if (!(value instanceof RPath)) return null;
  const segments = value.segments.filter((s) => typeof s === 'string');
  return segments.length === value.segments.length ? segments : null;
}

function describeAtom(atom: Atom): string {
  return `${atom.path.join('.')} ${atom.kind === 'eq' ? '==' : 'array-contains'} ${render(atom.value)}`;
}

function disjunctiveNormalForm(filter: Filter): Atom[][] {
  if (filter.compositeFilter) {
    const parts = (filter.compositeFilter.filters ?? []).map(disjunctiveNormalForm);
    if (filter.compositeFilter.op === 'OR') {
      const all = parts.flat();
      if (all.length > MAX_BRANCHES) throw new EvalError(`the query has more than ${MAX_BRANCHES} disjunctive branches`);
      return all.length > 0 ? all : [[]];
    }
    // AND (and any operator this engine does not know, which then constrains nothing extra)
    return parts.reduce<Atom[][]>(
      (acc, part) => {
        const product = acc.flatMap((left) => part.map((right) => [...left, ...right]));
        if (product.length > MAX_BRANCHES) throw new EvalError(`the query has more than ${MAX_BRANCHES} disjunctive branches`);
        return product;
      },
      [[]],
    );
  }
  if (filter.fieldFilter) {
    const { field, op, value } = filter.fieldFilter;
    const path = parseFieldPath(field?.fieldPath ?? '');
    const values = (v: Value | null | undefined): RValue[] => (v?.arrayValue?.values ?? []).map(fromProto);
    switch (op) {
      case 'EQUAL':
        return [[{ path, kind: 'eq', value: fromProto(value ?? {}) }]];
      case 'IN':
        return orOf(values(value).map((v) => ({ path, kind: 'eq', value: v })));
      case 'ARRAY_CONTAINS':
        return [[{ path, kind: 'contains', value: fromProto(value ?? {}) }]];
      case 'ARRAY_CONTAINS_ANY':
        return orOf(values(value).map((v) => ({ path, kind: 'contains', value: v })));
      default:
        return [[]]; // range, !=, not-in: no value is known
    }
  }
  if (filter.unaryFilter) {
    const path = parseFieldPath(filter.unaryFilter.field?.fieldPath ?? '');
    if (filter.unaryFilter.op === 'IS_NULL') return [[{ path, kind: 'eq', value: null }]];
    if (filter.unaryFilter.op === 'IS_NAN') return [[{ path, kind: 'eq', value: NaN }]];
  }
  return [[]];
}

function orOf(atoms: Atom[]): Atom[][] {
  if (atoms.length > MAX_BRANCHES) throw new EvalError(`the query has more than ${MAX_BRANCHES} disjunctive branches`);
  return atoms.length > 0 ? atoms.map((a) => [a]) : [[]];
}

interface Trie {
  value?: RValue;
  children: Map<string, Trie>;
}

/** The partly known map that the atoms pin; the first constraint on a field wins, equality before array-contains. */
function buildData(atoms: Atom[], what: string): PartialMap {
  const root: Trie = { children: new Map() };
  const ordered = [...atoms.filter((a) => a.kind === 'eq'), ...atoms.filter((a) => a.kind === 'contains')];
  for (const atom of ordered) {
    let node = root;
    let pinned = false;
    for (const segment of atom.path) {
      if (node.value !== undefined) {
        pinned = true;
        break;
      }
      let child = node.children.get(segment);
      if (!child) node.children.set(segment, (child = { children: new Map() }));
      node = child;
    }
    if (pinned || node.value !== undefined || node.children.size > 0) continue;
    node.value = atom.kind === 'eq' ? atom.value : new ContainsList(atom.value, `${what}.${atom.path.join('.')}`);
  }
  const toPartial = (node: Trie, label: string): PartialMap => {
    const known = new Map<string, RValue>();
    for (const [key, child] of node.children) {
      known.set(key, child.value !== undefined ? child.value : toPartial(child, `${label}.${key}`));
    }
    return new PartialMap(known, label);
  };
  return toPartial(root, what);
}

/** request.query: limit and offset when the query sets them, orderBy as a map of field path -> 'ASC' | 'DESC'. */
export function queryProperties(query: StructuredQuery): PlainMap {
  const entries = new Map<string, RValue>();
  // protobufjs decodes limit as an Int32Value wrapper; a query that came through JSON may carry a bare number.
  const limit: { value?: number | null } | number | null | undefined = query.limit;
  if (limit !== null && limit !== undefined) entries.set('limit', BigInt(typeof limit === 'number' ? limit : (limit.value ?? 0)));
  if (query.offset) entries.set('offset', BigInt(query.offset));
  const orderBy = new Map<string, RValue>();
  for (const order of query.orderBy ?? []) {
    orderBy.set(order.field?.fieldPath ?? '', order.direction === 'DESCENDING' ? 'DESC' : 'ASC');
  }
  entries.set('orderBy', new PlainMap(orderBy));
  return new PlainMap(entries);
}

/** A Firestore field path: dot-separated, segments optionally in backquotes with \` and \\ escapes. */
export function parseFieldPath(fieldPath: string): string[] {
  const segments: string[] = [];
  let i = 0;
  while (i <= fieldPath.length) {
    let segment = '';
    if (fieldPath[i] === '`') {
      i++;
      while (i < fieldPath.length && fieldPath[i] !== '`') {
        if (fieldPath[i] === '\\' && i + 1 < fieldPath.length) i++;
        segment += fieldPath[i++];
      }
      i++; // closing backquote
    } else {
      while (i < fieldPath.length && fieldPath[i] !== '.') segment += fieldPath[i++];
    }
    segments.push(segment);
    if (fieldPath[i] !== '.') break;
    i++;
  }
  return segments;
}
