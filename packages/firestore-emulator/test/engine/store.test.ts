import { describe, expect, it } from 'vitest';
import { Store } from '../../src/engine/store';
import { doc } from './helpers';
import { present } from '../present';

const write = (store: Store, path: string, micros: number, deleted = false) => {
  const time = { seconds: String(Math.floor(micros / 1e6)), nanos: (micros % 1e6) * 1000 };
  store.write(doc(path), path.split('/'), deleted ? null : { name: doc(path), fields: {}, createTime: time, updateTime: time }, micros);
};

const paths = (entries: Iterable<{ segments: readonly string[] }>) => [...entries].map((entry) => entry.segments.join('/'));

describe('store', () => {
  it('keeps every version until pruned, then only what reads after the cutoff can see', () => {
    const store = new Store();
    write(store, 'c/a', 10);
    write(store, 'c/a', 20);
    write(store, 'c/a', 30);
    expect(present(store.entry(doc('c/a')), 'entry').versions.map((v) => v.micros)).toEqual([10, 20, 30]);
    store.prune(25);
    expect(present(store.entry(doc('c/a')), 'entry').versions.map((v) => v.micros)).toEqual([20, 30]);
    expect(store.read(doc('c/a'), 25)).not.toBeNull();
    expect(store.read(doc('c/a'), 15)).toBeNull(); // pruned: no longer known
  });

  it('drops documents deleted before the cutoff from every index', () => {
    const store = new Store();
    write(store, 'c/a', 10);
    write(store, 'c/a/sub/x', 10);
    write(store, 'c/a', 20, true);
    write(store, 'c/a/sub/x', 20, true);
    write(store, 'c/b', 10);
    store.prune(15);
    expect(paths(store.collection('c', null, false))).toEqual(['c/a', 'c/b']);
    store.prune(25);
    expect(store.entry(doc('c/a'))).toBeUndefined();
    expect(paths(store.collection('c', null, false))).toEqual(['c/b']);
    expect(paths(store.descendants([], null, false))).toEqual(['c/b']);
    expect(store.collectionsInGroup('sub', [])).toEqual([]);
    expect([...store.childCollectionIds(['c', 'a'])]).toEqual([]);
  });

  it('scans descendants of a document in name order, both directions, from a key', () => {
    const store = new Store();
    for (const path of ['a/1', 'a/1/b/1', 'a/1/b/2', 'a/1/b/2/c/1', 'a/10', 'a/1x/b/1', 'a/2', 'b/1']) write(store, path, 1);
    expect(paths(store.descendants(['a', '1'], null, false))).toEqual(['a/1/b/1', 'a/1/b/2', 'a/1/b/2/c/1']);
    expect(paths(store.descendants(['a', '1'], null, true))).toEqual(['a/1/b/2/c/1', 'a/1/b/2', 'a/1/b/1']);
    expect(paths(store.descendants(['a', '1'], ['a', '1', 'b', '2'], false))).toEqual(['a/1/b/2', 'a/1/b/2/c/1']);
    expect(paths(store.descendants(['a', '1'], ['a', '1', 'b', '2'], true))).toEqual(['a/1/b/2', 'a/1/b/1']);
    expect(paths(store.descendants([], ['a', '2'], false))).toEqual(['a/2', 'b/1']);
    expect(store.hasDocumentUnder(['a', '1', 'b'], 1)).toBe(true);
    expect(store.hasDocumentUnder(['a', '1', 'z'], 1)).toBe(false);
  });
});
