/**
 * The documents of one database, with their history (MVCC): every document keeps the versions written in the
 * retention window, so reads at a past `read_time` and read-only transactions see the past. Indexes:
 * all documents in name order (for all-descendant scans), each collection's documents in name order, and
 * the collections of each collection id (for collection-group queries).
 */
import type { ValidDocument } from './api';
import { comparePaths, isPrefixPath } from './paths';
import { SortedList } from './sorted-list';
import type { Micros } from './time';

interface Version {
  micros: Micros;
  /** null: the document was deleted at `micros`. */
  doc: ValidDocument | null;
}

export class DocEntry {
  versions: Version[] = [];

  constructor(
    readonly name: string,
    /** Path below `.../documents`: collection, id, collection, id, ... */
    readonly segments: readonly string[],
  ) {}

  get current(): ValidDocument | null {
    return this.versions.length === 0 ? null : this.versions[this.versions.length - 1].doc;
  }

  /** The document as of `micros` (null when absent then). */
  at(micros: Micros): ValidDocument | null {
    for (let i = this.versions.length - 1; i >= 0; i--) {
      if (this.versions[i].micros <= micros) return this.versions[i].doc;
    }
    return null;
  }

  get collectionPath(): string {
    return this.segments.slice(0, -1).join('/');
  }

  get collectionId(): string {
    return this.segments[this.segments.length - 2];
  }
}

const entrySegments = (entry: DocEntry): readonly string[] => entry.segments;

function newList(): SortedList<DocEntry, readonly string[]> {
  return new SortedList(entrySegments, comparePaths);
}

export class Store {
  private readonly entries = new Map<string, DocEntry>();
  private readonly all = newList();
  private readonly collections = new Map<string, SortedList<DocEntry, readonly string[]>>();
  /** collection id -> paths of the collections with that id (segments joined by "/"). */
  private readonly groups = new Map<string, Set<string>>();
  /** Entries holding history that may be pruned: more than one version, or deleted. */
  private readonly withHistory = new Set<DocEntry>();

  entry(name: string): DocEntry | undefined {
    return this.entries.get(name);
  }

  read(name: string, micros: Micros): ValidDocument | null {
    const entry = this.entries.get(name);
    return entry ? entry.at(micros) : null;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Records a new version (a document, or null for a deletion) of the document at `micros`. */
  write(name: string, segments: readonly string[], doc: ValidDocument | null, micros: Micros): void {
    let entry = this.entries.get(name);
    if (!entry) {
      if (doc === null) return; // deleting what never existed leaves no trace
      entry = new DocEntry(name, segments);
      this.entries.set(name, entry);
      this.all.insert(entry);
      const collectionPath = entry.collectionPath;
      let collection = this.collections.get(collectionPath);
      if (!collection) {
        collection = newList();
        this.collections.set(collectionPath, collection);
        const collectionId = entry.collectionId;
        let group = this.groups.get(collectionId);
        if (!group) this.groups.set(collectionId, (group = new Set()));
        group.add(collectionPath);
      }
      collection.insert(entry);
    }
    entry.versions.push({ micros, doc });
    if (entry.versions.length > 1 || doc === null) this.withHistory.add(entry);
  }

  /** Forgets versions no read can ask for any more (superseded before `cutoff`), and long-deleted documents. */
  prune(cutoff: Micros): void {
    for (const entry of this.withHistory) {
      const versions = entry.versions;
      // Keep the newest version at or before the cutoff: it is what a read at the cutoff sees.
      let keepFrom = 0;
      for (let i = versions.length - 1; i >= 0; i--) {
        if (versions[i].micros <= cutoff) {
          keepFrom = i;
          break;
        }
      }
      if (keepFrom > 0) entry.versions = versions.slice(keepFrom);
      if (entry.versions.length === 1 && entry.versions[0].doc === null && entry.versions[0].micros <= cutoff) {
        this.removeEntry(entry);
      } else if (entry.versions.length === 1 && entry.versions[0].doc !== null) {
        this.withHistory.delete(entry);
      }
    }
  }

  private removeEntry(entry: DocEntry): void {
    this.withHistory.delete(entry);
    this.entries.delete(entry.name);
    this.all.remove(entry.segments);
    const collectionPath = entry.collectionPath;
    // Every entry is in its collection's list and that collection in its group (see write): a miss is a bug in
    // the store, which must not go on with its indexes out of step.
    const collection = this.collections.get(collectionPath);
    const group = this.groups.get(entry.collectionId);
    if (!collection || !group) throw new Error(`store invariant broken: ${entry.name} is not indexed under ${collectionPath}`);
    collection.remove(entry.segments);
    if (collection.size === 0) {
      this.collections.delete(collectionPath);
      group.delete(collectionPath);
      if (group.size === 0) this.groups.delete(entry.collectionId);
    }
  }

  /** Names of the documents that exist now. */
  currentNames(): string[] {
    const names: string[] = [];
    for (const entry of this.entries.values()) if (entry.current !== null) names.push(entry.name);
    return names;
  }

  /** Entries of one collection (segments joined by "/") in name order, ascending or descending from `from`. */
  collection(collectionPath: string, from: readonly string[] | null, descending: boolean): Iterable<DocEntry> {
    const list = this.collections.get(collectionPath);
    return list ? list.iterate(from, descending) : [];
  }

  /**
   * Every entry strictly below `parent` (documents of its subcollections at any depth) in name order,
   * ascending from the first entry >= `from`, or descending from the last entry <= `from`.
   */
  *descendants(parent: readonly string[], from: readonly string[] | null, descending: boolean): Generator<DocEntry> {
    let start: readonly string[] | null = from;
    if (parent.length > 0) {
      // Descendants of a/b sort after a/b and before a/b\0, the next possible sibling.
      const bound = descending ? [...parent.slice(0, -1), `${parent[parent.length - 1]}\u0000`] : parent;
      const outside = start === null || (descending ? comparePaths(start, bound) > 0 : comparePaths(start, bound) < 0);
      if (outside) start = bound;
    }
    for (const entry of this.all.iterate(start, descending)) {
      if (entry.segments.length === parent.length) continue; // the parent document itself
      if (!isPrefixPath(parent, entry.segments)) return;
      yield entry;
    }
  }

  /** Whether any document exists at `micros` at or below the path `prefix`. */
  hasDocumentUnder(prefix: readonly string[], micros: Micros): boolean {
    for (const entry of this.all.iterate(prefix, false)) {
      if (!isPrefixPath(prefix, entry.segments)) return false;
      if (entry.at(micros) !== null) return true;
    }
    return false;
  }

  /** Paths of the collections named `collectionId` at any depth below `parent`. */
  collectionsInGroup(collectionId: string, parent: readonly string[]): string[] {
    const group = this.groups.get(collectionId);
    if (!group) return [];
    const prefix = parent.join('/');
    const result: string[] = [];
    for (const path of group) {
      if (prefix === '' || path.startsWith(`${prefix}/`)) result.push(path);
    }
    return result;
  }

  /** Ids of the collections directly under `parent` that hold entries (at any depth). */
  childCollectionIds(parent: readonly string[]): Set<string> {
    const ids = new Set<string>();
    const prefix = parent.length === 0 ? '' : `${parent.join('/')}/`;
    for (const path of this.collections.keys()) {
      if (prefix !== '' && !path.startsWith(prefix)) continue;
      const rest = path.slice(prefix.length);
      const slash = rest.indexOf('/');
      ids.add(slash === -1 ? rest : rest.slice(0, slash));
    }
    return ids;
  }
}
