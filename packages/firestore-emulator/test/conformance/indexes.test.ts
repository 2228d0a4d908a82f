/**
 * Index enforcement (our extension: Google's emulator requires no index, so this file is skipped against it).
 * A project given a `firestore.indexes.json` (`PUT :indexes`) runs only the queries production would run with
 * those indexes: automatic single-field indexes (minus `fieldOverrides` exemptions), collection-group indexes
 * only where declared, composite indexes where the query needs one. A refused query fails with
 * FAILED_PRECONDITION and the entry to add; each test pastes that entry into the file and runs the query again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AggregateField, FieldPath, Filter, type AggregateQuery, type AggregateSpec, type Firestore, type Query } from 'firebase-admin/firestore';
import { collection, onSnapshot, orderBy, query, where, type QuerySnapshot } from 'firebase/firestore';
import { adminClient, emulatorUrl, ListenerRecorder, loadIndexes, offlineEmulator, rejectionOf, uniqueProjectId, webClient } from './support';

const projectId = uniqueProjectId('conf-indexes');
let db: Firestore;
let close: () => Promise<void>;

const cities: Record<string, Record<string, unknown>> = {
  la: { state: 'CA', name: 'Los Angeles', capital: false, population: 4, density: 30, regions: ['west', 'south'], address: { zip: '9' } },
  sf: { state: 'CA', name: 'San Francisco', capital: false, population: 1, density: 70, regions: ['west'], address: { zip: '8' } },
  sac: { state: 'CA', name: 'Sacramento', capital: true, population: 0.5, density: 20, regions: ['west'], address: { zip: '7' } },
  ny: { state: 'NY', name: 'New York', capital: false, population: 8, density: 110, regions: ['east'], address: { zip: '1' } },
  alb: { state: 'NY', name: 'Albany', capital: true, population: 0.1, density: 10, regions: ['east'], address: { zip: '2' } },
};

beforeAll(async () => {
  if (!offlineEmulator) return;
  ({ db, close } = adminClient(projectId));
  const batch = db.batch();
  for (const [id, data] of Object.entries(cities)) batch.set(db.collection('cities').doc(id), data);
  batch.set(db.doc('landmarks/l1'), { type: 'museum', city: 'la' });
  batch.set(db.doc('cities/sf/landmarks/l2'), { type: 'bridge', city: 'sf' });
  batch.set(db.doc('cities/ny/landmarks/l3'), { type: 'museum', city: 'ny' });
  batch.set(db.doc('countries/us/cities/ny/landmarks/l4'), { type: 'museum', city: 'ny' });
  await batch.commit();
});
afterAll(async () => {
  await close?.();
});

async function useIndexes(indexes: { indexes: object[]; fieldOverrides?: object[] }): Promise<void> {
  const response = await loadIndexes(projectId, indexes);
  expect(response.status, await response.clone().text()).toBe(200);
}

async function unusedIndexes(): Promise<{ location: string }[]> {
  const response = await fetch(emulatorUrl(`/emulator/v1/projects/${projectId}:indexes`));
  expect(response.status).toBe(200);
  return ((await response.json()) as { unusedIndexes: { location: string }[] }).unusedIndexes;
}

const citiesRef = () => db.collection('cities');
const ids = async (q: Query) => (await q.get()).docs.map((doc) => doc.id);

/** The error of a refused query: FAILED_PRECONDITION, and the index file entry its message names. */
async function refusal(run: Promise<unknown>): Promise<{ message: string; section: string; entry: Record<string, unknown> }> {
  const error = await rejectionOf(run);
  expect(error.code, error.message).toBe(9);
  const message = error.message.replace(/^9 FAILED_PRECONDITION: /, '');
  const section = /Add this entry to "(indexes|fieldOverrides)"/.exec(message)?.[1];
  expect(section, message).toBeDefined();
  return { message, section: section ?? '', entry: JSON.parse(message.slice(message.indexOf('{'))) as Record<string, unknown> };
}

const asc = (fieldPath: string) => ({ fieldPath, order: 'ASCENDING' });
const desc = (fieldPath: string) => ({ fieldPath, order: 'DESCENDING' });
const contains = (fieldPath: string) => ({ fieldPath, arrayConfig: 'CONTAINS' });
const composite = (fields: object[], collectionGroup = 'cities', queryScope = 'COLLECTION') => ({ collectionGroup, queryScope, fields });

describe.skipIf(!offlineEmulator)('served by automatic single-field indexes', () => {
  beforeAll(() => useIndexes({ indexes: [] }));

  it.each<[string, () => Query, string[]]>([
    ['an equality', () => citiesRef().where('state', '==', 'NY'), ['alb', 'ny']],
    ['a range, ordered by its field', () => citiesRef().where('population', '<', 1), ['alb', 'sac']],
    ['an order, descending', () => citiesRef().orderBy('population', 'desc').limit(2), ['ny', 'la']],
    ['array-contains', () => citiesRef().where('regions', 'array-contains', 'east'), ['alb', 'ny']],
    ['in', () => citiesRef().where('state', 'in', ['NY']), ['alb', 'ny']],
    ['not-in', () => citiesRef().where('state', 'not-in', ['CA']), ['alb', 'ny']],
    ['!=', () => citiesRef().where('capital', '!=', true), ['la', 'ny', 'sf']],
    ['equalities on two fields (merged)', () => citiesRef().where('state', '==', 'CA').where('capital', '==', false), ['la', 'sf']],
    ['in and an equality (merged)', () => citiesRef().where('state', 'in', ['CA', 'NY']).where('capital', '==', true), ['alb', 'sac']],
    ['an equality, by name descending', () => citiesRef().where('state', '==', 'CA').orderBy(FieldPath.documentId(), 'desc'), ['sf', 'sac', 'la']],
    ['by name descending alone', () => citiesRef().orderBy(FieldPath.documentId(), 'desc').limit(1), ['sf']],
    ['a nested field', () => citiesRef().where('address.zip', '>=', '8'), ['sf', 'la']],
    ['a range with a cursor', () => citiesRef().where('population', '>', 0.5).orderBy('population').startAfter(1), ['la', 'ny']],
    ['an equality and a name range', () => citiesRef().where('state', '==', 'CA').where(FieldPath.documentId(), '>', 'la'), ['sac', 'sf']],
    ['OR of equalities', () => citiesRef().where(Filter.or(Filter.where('state', '==', 'NY'), Filter.where('capital', '==', true))), ['alb', 'ny', 'sac']],
  ])('%s', async (_label, build, expected) => {
    expect(await ids(build())).toEqual(expected);
  });

  it('count of merged equalities, sum and average of one field', async () => {
    expect((await citiesRef().where('state', '==', 'CA').where('capital', '==', false).count().get()).data().count).toBe(2);
    const totals = await citiesRef()
      .aggregate({ total: AggregateField.sum('density'), mean: AggregateField.average('density') })
      .get();
    expect(totals.data()).toEqual({ total: 240, mean: 48 });
  });

  it('a collection group with no filter, or ordered by name ascending, needs no index', async () => {
    expect((await db.collectionGroup('landmarks').get()).docs.map((doc) => doc.id)).toEqual(['l3', 'l2', 'l4', 'l1']);
    // Every landmark under one document: a name range over a collection group.
    const under = db.collectionGroup('landmarks').orderBy(FieldPath.documentId()).startAt('cities/ny').endAt('cities/ny\uf8ff');
    expect((await under.get()).docs.map((doc) => doc.ref.path)).toEqual(['cities/ny/landmarks/l3']);
  });
});

describe.skipIf(!offlineEmulator)('queries that need a composite index', () => {
  it.each<[string, () => Query, object[], string[]]>([
    [
      'an equality and an order on another field',
      () => citiesRef().where('state', '==', 'CA').orderBy('population'),
      [asc('state'), asc('population')],
      ['sac', 'sf', 'la'],
    ],
    [
      'an equality and a range on another field',
      () => citiesRef().where('state', '==', 'CA').where('population', '<', 2),
      [asc('state'), asc('population')],
      ['sac', 'sf'],
    ],
    ['two orders', () => citiesRef().orderBy('state').orderBy('population', 'desc'), [asc('state'), desc('population')], ['la', 'sf', 'sac', 'ny', 'alb']],
    ['a range and an order on another field', () => citiesRef().where('population', '>', 1).orderBy('name'), [asc('name'), asc('population')], ['la', 'ny']],
    [
      'ranges on two fields (ordered by field name)',
      () => citiesRef().where('population', '>', 0.2).where('density', '<', 100),
      [asc('density'), asc('population')],
      ['sac', 'la', 'sf'],
    ],
    [
      'array-contains and an equality',
      () => citiesRef().where('regions', 'array-contains', 'west').where('capital', '==', false),
      [contains('regions'), asc('capital')],
      ['la', 'sf'],
    ],
    [
      'array-contains and an order',
      () => citiesRef().where('regions', 'array-contains', 'west').orderBy('population', 'desc'),
      [contains('regions'), desc('population')],
      ['la', 'sf', 'sac'],
    ],
    [
      'in and an order',
      () => citiesRef().where('state', 'in', ['CA', 'NY']).orderBy('density', 'desc').limit(2),
      [asc('state'), desc('density')],
      ['ny', 'sf'],
    ],
    [
      'an order then the name in the other direction',
      () => citiesRef().where('state', '==', 'NY').orderBy('capital').orderBy(FieldPath.documentId(), 'desc'),
      [asc('state'), asc('capital'), desc('__name__')],
      ['ny', 'alb'],
    ],
    [
      'an OR whose disjunct has an equality and the implicit order of a range',
      () => citiesRef().where(Filter.or(Filter.where('state', '==', 'NY'), Filter.where('population', '>', 3))),
      [asc('state'), asc('population')],
      ['alb', 'la', 'ny'],
    ],
  ])('%s', async (_label, build, fields, expected) => {
    await useIndexes({ indexes: [] });
    const refused = await refusal(build().get());
    expect(refused.message).toMatch(/^The query requires an index\. Add this entry to "indexes" in firestore\.indexes\.json: /);
    expect(refused.entry).toEqual(composite(fields));

    await useIndexes({ indexes: [refused.entry] });
    expect(await ids(build())).toEqual(expected);
    expect(await unusedIndexes()).toEqual([]);
  });

  it('sum and average need their field after the filters', async () => {
    await useIndexes({ indexes: [] });
    const spec: AggregateSpec = { total: AggregateField.sum('population'), count: AggregateField.count() };
    const build = (): AggregateQuery<AggregateSpec> => citiesRef().where('state', '==', 'CA').aggregate(spec);
    const refused = await refusal(build().get());
    expect(refused.entry).toEqual(composite([asc('state'), asc('population')]));
    await useIndexes({ indexes: [refused.entry] });
    expect((await build().get()).data()).toEqual({ total: 5.5, count: 3 });
  });

  it('inside a transaction the query fails the transaction (not retried) and nothing is written', async () => {
    await useIndexes({ indexes: [] });
    let attempts = 0;
    const error = await rejectionOf(
      db.runTransaction(async (transaction) => {
        attempts++;
        await transaction.get(citiesRef().where('state', '==', 'CA').orderBy('population'));
        transaction.set(db.doc('cities/written'), { state: 'CA' });
      }),
    );
    expect(error.code).toBe(9);
    expect(attempts).toBe(1);
    expect((await db.doc('cities/written').get()).exists).toBe(false);
  });

  it('a listener (the web SDK, Listen stream) fails the same way, and works once the index is declared', async () => {
    await useIndexes({ indexes: [] });
    const web = webClient(projectId, 'owner');
    const timeline = query(collection(web.db, 'cities'), where('state', '==', 'NY'), orderBy('density', 'desc'));
    try {
      const failing = new ListenerRecorder<QuerySnapshot>((next, fail) => onSnapshot(timeline, next, fail));
      const error = (await failing.waitForError()) as { code: string; message: string };
      failing.stop();
      expect(error.code).toBe('failed-precondition');
      expect(JSON.parse(error.message.slice(error.message.indexOf('{')))).toEqual(composite([asc('state'), desc('density')]));

      await useIndexes({ indexes: [composite([asc('state'), desc('density')])] });
      const working = new ListenerRecorder<QuerySnapshot>((next, fail) => onSnapshot(timeline, next, fail));
      const snapshot = await working.waitFor((value) => value.size === 2);
      working.stop();
      expect(snapshot.docs.map((doc) => doc.id)).toEqual(['ny', 'alb']);
    } finally {
      await web.close();
    }
  });
});

describe.skipIf(!offlineEmulator)('index merging', () => {
  const build = () => citiesRef().where('state', '==', 'CA').where('capital', '==', false).orderBy('population', 'desc');

  it('merges composites that end with the same order, one per equality', async () => {
    await useIndexes({ indexes: [composite([asc('state'), desc('population')]), composite([asc('capital'), desc('population')])] });
    expect(await ids(build())).toEqual(['la', 'sf']);
    expect(await unusedIndexes()).toEqual([]);
  });

  it('refuses when an equality has no index with the order, naming one index for the whole query', async () => {
    await useIndexes({ indexes: [composite([asc('state'), desc('population')])] });
    const refused = await refusal(build().get());
    expect(refused.entry).toEqual(composite([asc('state'), asc('capital'), desc('population')]));
    expect(await unusedIndexes()).toEqual([{ location: 'indexes[0]', description: expect.any(String) as string }]);
  });

  it('an index in one direction does not serve the other', async () => {
    await useIndexes({ indexes: [composite([asc('state'), asc('population')])] });
    const refused = await refusal(citiesRef().where('state', '==', 'CA').orderBy('population', 'desc').get());
    expect(refused.entry).toEqual(composite([asc('state'), desc('population')]));
  });

  it('does not merge with array-contains: one index must hold every field', async () => {
    await useIndexes({ indexes: [composite([contains('regions'), asc('population')]), composite([asc('state'), asc('population')])] });
    const refused = await refusal(citiesRef().where('regions', 'array-contains', 'west').where('state', '==', 'CA').orderBy('population').get());
    expect(refused.entry).toEqual(composite([contains('regions'), asc('state'), asc('population')]));
  });
});

describe.skipIf(!offlineEmulator)('fieldOverrides exemptions', () => {
  it('an override replaces the automatic indexes of its field; the message asks for the missing one only', async () => {
    await useIndexes({ indexes: [], fieldOverrides: [{ collectionGroup: 'cities', fieldPath: 'population', indexes: [] }] });
    const refused = await refusal(citiesRef().where('population', '<', 1).get());
    expect(refused.message).toMatch(/^The query requires an ASC index for collection cities and field population\. Add this entry to "fieldOverrides"/);
    expect(refused.entry).toEqual({ collectionGroup: 'cities', fieldPath: 'population', indexes: [{ order: 'ASCENDING', queryScope: 'COLLECTION' }] });
    // Other fields keep their automatic indexes.
    expect(await ids(citiesRef().where('density', '<', 20))).toEqual(['alb']);

    await useIndexes({ indexes: [], fieldOverrides: [refused.entry] });
    expect(await ids(citiesRef().where('population', '<', 1))).toEqual(['alb', 'sac']);
    const descending = await refusal(citiesRef().orderBy('population', 'desc').get());
    expect(descending.message).toMatch(/^The query requires a DESC index for collection cities and field population\./);
  });

  it('subfields of a map inherit its override, unless they have their own', async () => {
    const exempt = { collectionGroup: 'cities', fieldPath: 'address', indexes: [] };
    await useIndexes({ indexes: [], fieldOverrides: [exempt] });
    const refused = await refusal(citiesRef().where('address.zip', '==', '9').get());
    expect(refused.entry).toEqual({ collectionGroup: 'cities', fieldPath: 'address.zip', indexes: [{ order: 'ASCENDING', queryScope: 'COLLECTION' }] });
    await useIndexes({ indexes: [], fieldOverrides: [exempt, refused.entry] });
    expect(await ids(citiesRef().where('address.zip', '==', '9'))).toEqual(['la']);
  });

  it('"*" exempts every field of the collection group, and only that group', async () => {
    await useIndexes({ indexes: [], fieldOverrides: [{ collectionGroup: 'cities', fieldPath: '*', indexes: [{ arrayConfig: 'CONTAINS' }] }] });
    expect(await ids(citiesRef().where('regions', 'array-contains', 'east'))).toEqual(['alb', 'ny']);
    await refusal(citiesRef().where('state', '==', 'NY').get());
    expect((await db.collection('landmarks').where('type', '==', 'museum').get()).size).toBe(1);
  });
});

describe.skipIf(!offlineEmulator)('collection groups', () => {
  it('single-field indexes are not automatic in collection-group scope', async () => {
    await useIndexes({ indexes: [] });
    const build = () => db.collectionGroup('landmarks').where('type', '==', 'museum');
    const refused = await refusal(build().get());
    expect(refused.message).toMatch(/^The query requires a COLLECTION_GROUP_ASC index for collection landmarks and field type\./);
    expect(refused.entry).toEqual({
      collectionGroup: 'landmarks',
      fieldPath: 'type',
      indexes: [
        { order: 'ASCENDING', queryScope: 'COLLECTION' },
        { order: 'DESCENDING', queryScope: 'COLLECTION' },
        { arrayConfig: 'CONTAINS', queryScope: 'COLLECTION' },
        { order: 'ASCENDING', queryScope: 'COLLECTION_GROUP' },
      ],
    });
    await useIndexes({ indexes: [], fieldOverrides: [refused.entry] });
    expect((await build().get()).docs.map((doc) => doc.ref.path)).toEqual(['cities/ny/landmarks/l3', 'countries/us/cities/ny/landmarks/l4', 'landmarks/l1']);
    expect(await unusedIndexes()).toEqual([]);
  });

  it('an index of another API scope serves no query here; the suggested override keeps it', async () => {
    const datastoreOnly = {
      collectionGroup: 'landmarks',
      fieldPath: 'type',
      indexes: [
        { order: 'ASCENDING', queryScope: 'COLLECTION' },
        { order: 'ASCENDING', queryScope: 'COLLECTION_GROUP', apiScope: 'DATASTORE_MODE_API' },
      ],
    };
    await useIndexes({ indexes: [], fieldOverrides: [datastoreOnly] });
    const refused = await refusal(db.collectionGroup('landmarks').where('type', '==', 'museum').get());
    expect(refused.entry).toEqual({ ...datastoreOnly, indexes: [...datastoreOnly.indexes, { order: 'ASCENDING', queryScope: 'COLLECTION_GROUP' }] });
    expect(await unusedIndexes()).toEqual([]);
  });

  it('ordering a collection group by name descending needs a declared index', async () => {
    await useIndexes({ indexes: [] });
    const build = () => db.collectionGroup('landmarks').orderBy(FieldPath.documentId(), 'desc').limit(1);
    const refused = await refusal(build().get());
    expect(refused.entry).toEqual(composite([desc('__name__')], 'landmarks', 'COLLECTION_GROUP'));
    await useIndexes({ indexes: [refused.entry] });
    expect((await build().get()).docs.map((doc) => doc.ref.path)).toEqual(['landmarks/l1']);
  });

  it('a collection-scope composite does not serve a collection-group query', async () => {
    await useIndexes({ indexes: [composite([asc('type'), asc('city')], 'landmarks')] });
    const build = () => db.collectionGroup('landmarks').where('type', '==', 'museum').orderBy('city');
    const refused = await refusal(build().get());
    expect(refused.entry).toEqual(composite([asc('type'), asc('city')], 'landmarks', 'COLLECTION_GROUP'));
    await useIndexes({ indexes: [refused.entry] });
    expect((await build().get()).docs.map((doc) => doc.id)).toEqual(['l1', 'l3', 'l4']);
  });
});

describe.skipIf(!offlineEmulator)('the :indexes extension', () => {
  it('lists the declared indexes no query used', async () => {
    const byState = composite([asc('state'), asc('population')]);
    const byName = composite([asc('name'), desc('density')]);
    const groupType = { collectionGroup: 'landmarks', fieldPath: 'type', indexes: [{ order: 'ASCENDING', queryScope: 'COLLECTION_GROUP' }] };
    await useIndexes({ indexes: [byState, byName], fieldOverrides: [groupType] });
    expect((await unusedIndexes()).map((index) => index.location)).toEqual(['indexes[0]', 'indexes[1]', 'fieldOverrides[0].indexes[0]']);
    await citiesRef().where('state', '==', 'CA').orderBy('population').get();
    expect(await unusedIndexes()).toEqual([
      { location: 'indexes[1]', description: JSON.stringify(byName) },
      { location: 'fieldOverrides[0].indexes[0]', description: 'landmarks.type {"order":"ASCENDING","queryScope":"COLLECTION_GROUP"}' },
    ]);
  });

  it('refuses an index file firebase deploy would refuse, naming the entry, and keeps the previous one', async () => {
    await useIndexes({ indexes: [composite([asc('state'), asc('population')])] });
    const cases: [object, string][] = [
      [
        { indexes: [composite([{ fieldPath: 'state' }, asc('population')])] },
        'indexes[0].fields[0]: must set exactly one of order, arrayConfig, vectorConfig, searchConfig',
      ],
      [{ indexes: [{ collectionGroup: 'cities', queryScope: 'DATABASE', fields: [asc('a')] }] }, 'indexes[0].queryScope'],
      [{ fieldOverrides: [] }, 'indexes'],
      [{ indexes: [composite([asc('state')])] }, 'indexes[0].fields: a composite index needs two fields or more'],
      [{ indexes: [composite([asc('a..b'), asc('c')])] }, 'indexes[0].fields[0].fieldPath'],
      [{ indexes: [], fieldOverrides: [{ collectionGroup: 'cities', fieldPath: 'x', indexes: [{ order: 'UP' }] }] }, 'fieldOverrides[0].indexes[0].order'],
    ];
    for (const [file, named] of cases) {
      const response = await loadIndexes(projectId, file);
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { message: string; status: string } };
      expect(body.error.status).toBe('INVALID_ARGUMENT');
      expect(body.error.message).toContain(`firestore.indexes.json: ${named}`);
    }
    expect(await ids(citiesRef().where('state', '==', 'NY').orderBy('population'))).toEqual(['alb', 'ny']);
  });

  it('refuses two overrides of one field (which one production keeps depends on what is deployed), naming both', async () => {
    await useIndexes({ indexes: [composite([asc('state'), asc('population')])] });
    const groupType = { collectionGroup: 'landmarks', fieldPath: 'type', indexes: [{ order: 'ASCENDING', queryScope: 'COLLECTION_GROUP' }] };
    const other = { collectionGroup: 'landmarks', fieldPath: 'name', indexes: [] };
    for (const second of [{ ...groupType, indexes: [] }, groupType]) {
      const response = await loadIndexes(projectId, { indexes: [], fieldOverrides: [groupType, other, second] });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { message: string } };
      expect(body.error.message).toBe('firestore.indexes.json: fieldOverrides[2]: landmarks.type is already configured by fieldOverrides[0]');
    }
    expect(await ids(citiesRef().where('state', '==', 'NY').orderBy('population'))).toEqual(['alb', 'ny']);
  });

  it("DELETE makes the project require no index, as Google's emulator", async () => {
    await useIndexes({ indexes: [] });
    await refusal(citiesRef().orderBy('state').orderBy('name').get());
    expect((await loadIndexes(projectId, null)).status).toBe(200);
    expect(await ids(citiesRef().orderBy('state').orderBy('name').limit(2))).toEqual(['la', 'sac']);
    expect((await fetch(emulatorUrl(`/emulator/v1/projects/${projectId}:indexes`))).status).toBe(404);
  });
});

describe.skipIf(!offlineEmulator)('vector search', () => {
  beforeAll(() => useIndexes({ indexes: [] }));

  it('is refused loudly, naming the feature: vector indexes are not modelled', async () => {
    const nearest = citiesRef().findNearest({ vectorField: 'embedding', queryVector: [1, 0], limit: 1, distanceMeasure: 'EUCLIDEAN' });
    const error = await rejectionOf(nearest.get());
    expect(error.code, error.message).toBe(12);
    expect(error.message).toContain('vector search (vector indexes)');
  });
});
