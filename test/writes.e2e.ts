// The write API through the gateway: admin catalog writes (visible on the next read), refusals that
// change nothing, validation into userErrors with field paths, soft delete that keeps order lines.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { userIdFor } from '@commerce/db/ids';
import { generateSeed } from '@commerce/db/seed-data';
import { startGraph, type TestGraph } from './support/graph.js';

const template = inject('templateDatabase');
const seed = generateSeed();
const product = seed.products[7]!;
const PRODUCT = 'query ($id: ID!) { product(id: $id) { id name description category price { amount } stock } }';
const UPDATE = 'mutation ($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { product { name price { amount } stock } userErrors { field message code } } }';

describe.skipIf(!template)('the write API', () => {
  let graph: TestGraph;
  const read = async (id = product.id) => (await graph.query(PRODUCT, { id })).data?.product;

  beforeAll(async () => {
    graph = await startGraph({ kind: 'postgres', template: template as string });
  });
  afterAll(() => graph?.stop());

  it('an admin updates a product and the next read shows the new value', async () => {
    const result = await graph.query(UPDATE, { id: product.id, input: { price: '12.34', stock: 77 } }, await graph.as('admin@example.com'));
    expect(result.errors).toBeUndefined();
    expect(result.data?.updateProduct).toEqual({ product: { name: product.name, price: { amount: '12.34' }, stock: 77 }, userErrors: [] });
    expect(await read()).toMatchObject({ price: { amount: '12.34' }, stock: 77, name: product.name });
  });

  it('a non-admin gets FORBIDDEN and nothing changes', async () => {
    const before = await read();
    const result = await graph.query(UPDATE, { id: product.id, input: { price: '0.01' } }, await graph.as('alice@example.com'));
    expect(result.status).toBe(200);
    expect(result.data).toEqual({ updateProduct: null });
    expect(result.errors?.[0]).toMatchObject({ path: ['updateProduct'], extensions: { code: 'FORBIDDEN' } });
    const anonymous = await graph.query(UPDATE, { id: product.id, input: { price: '0.01' } });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await read()).toEqual(before);
  });

  it('invalid input is a userError per field, and the row is unchanged', async () => {
    const before = await read();
    const result = await graph.query(UPDATE, { id: product.id, input: { name: '  ', price: 'free', stock: -3, description: 'ok' } }, await graph.as('admin@example.com'));
    expect(result.errors).toBeUndefined();
    const payload = result.data?.updateProduct;
    expect(payload.product).toBeNull();
    expect(payload.userErrors.map((e: any) => [e.field.join('.'), e.code]).sort()).toEqual([['input.name', 'INVALID'], ['input.price', 'INVALID'], ['input.stock', 'INVALID']]);
    expect(payload.userErrors.every((e: any) => e.message.length > 0)).toBe(true);
    expect(await read()).toEqual(before); // description 'ok' was valid, but nothing is written when anything is invalid
    const zero = await graph.query(UPDATE, { id: product.id, input: { price: '0.00' } }, await graph.as('admin@example.com'));
    expect(zero.data?.updateProduct.userErrors[0]).toMatchObject({ field: ['input', 'price'], code: 'INVALID' });
    const nullName = await graph.query(UPDATE, { id: product.id, input: { name: null } }, await graph.as('admin@example.com'));
    expect(nullName.data?.updateProduct.userErrors[0]).toMatchObject({ field: ['input', 'name'], code: 'INVALID' });
    expect(await read()).toEqual(before);
  });

  it('an unknown product is a NOT_FOUND userError', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'nope']) {
      const result = await graph.query(UPDATE, { id, input: { stock: 1 } }, await graph.as('admin@example.com'));
      expect(result.data?.updateProduct).toMatchObject({ product: null, userErrors: [{ field: ['id'], code: 'NOT_FOUND' }] });
    }
  });

  it('createProduct adds to the catalog; a taken sku is TAKEN', async () => {
    const create = 'mutation ($input: CreateProductInput!) { createProduct(input: $input) { product { id sku name category price { amount currency } stock } userErrors { field code } } }';
    const input = { sku: 'SKU-NEW-1', name: 'Brand New Kettle', category: 'kitchen', price: '49.50', stock: 3 };
    const created = await graph.query(create, { input }, await graph.as('admin@example.com'));
    expect(created.errors).toBeUndefined();
    const made = created.data?.createProduct.product;
    expect(made).toMatchObject({ sku: 'SKU-NEW-1', name: 'Brand New Kettle', price: { amount: '49.50', currency: 'USD' }, stock: 3 });
    expect(await read(made.id)).toMatchObject({ name: 'Brand New Kettle', description: '' });
    const search = await graph.query('{ products(first: 5, filter: { search: "brand new" }) { totalCount edges { node { id } } } }');
    expect(search.data?.products).toEqual({ totalCount: 1, edges: [{ node: { id: made.id } }] });
    const again = await graph.query(create, { input }, await graph.as('admin@example.com'));
    expect(again.data?.createProduct).toEqual({ product: null, userErrors: [{ field: ['input', 'sku'], code: 'TAKEN' }] });
    const bad = await graph.query(create, { input: { ...input, sku: 'no spaces allowed', category: 'Kitchen!' } }, await graph.as('admin@example.com'));
    expect(bad.data?.createProduct.userErrors.map((e: any) => e.field.join('.')).sort()).toEqual(['input.category', 'input.sku']);
  });

  it('deleteProduct hides the product from reads and lists; orders keep their lines', async () => {
    const alice = userIdFor('alice@example.com');
    const line = seed.orderItems.find((item) => seed.orders.find((o) => o.id === item.orderId)?.userId === alice)!;
    const victim = line.productId;
    const inList = async () => {
      const all = await graph.query('query ($c: String) { products(first: 100, filter: { category: $c }) { totalCount edges { node { id } } } }', { c: seed.products.find((p) => p.id === victim)!.category });
      return { count: all.data?.products.totalCount, present: all.data?.products.edges.some((e: any) => e.node.id === victim) };
    };
    expect(await inList()).toMatchObject({ present: true });
    const before = (await inList()).count;

    const deleted = await graph.query('mutation ($id: ID!) { deleteProduct(id: $id) { product { id } userErrors { code } } }', { id: victim }, await graph.as('admin@example.com'));
    expect(deleted.data?.deleteProduct).toEqual({ product: { id: victim }, userErrors: [] });
    expect(await read(victim)).toBeNull();
    expect(await inList()).toEqual({ count: before - 1, present: false });

    // Any product field makes the gateway resolve the entity (a bare { id } is just the reference orders holds).
    const order = await graph.query(`{ order(id: "${line.orderId}") { items { quantity unitPrice { amount } product { id name } } } }`, undefined, await graph.as('alice@example.com'));
    expect(order.errors).toBeUndefined();
    const kept = order.data?.order.items.find((item: any) => item.product === null);
    expect(kept).toMatchObject({ quantity: line.quantity, unitPrice: { amount: (line.unitPriceCents / 100).toFixed(2) } });

    const twice = await graph.query('mutation ($id: ID!) { deleteProduct(id: $id) { product { id } userErrors { code } } }', { id: victim }, await graph.as('admin@example.com'));
    expect(twice.data?.deleteProduct).toEqual({ product: null, userErrors: [{ code: 'NOT_FOUND' }] });
    const update = await graph.query(UPDATE, { id: victim, input: { stock: 5 } }, await graph.as('admin@example.com'));
    expect(update.data?.updateProduct.userErrors[0].code).toBe('NOT_FOUND');
  });

  it('updateMe changes the caller\'s own name; an empty name is refused', async () => {
    const mutation = 'mutation ($input: UpdateMeInput!) { updateMe(input: $input) { user { id name } userErrors { field code } } }';
    const bob = await graph.as('bob@example.com');
    const renamed = await graph.query(mutation, { input: { name: '  Robert Example ' } }, bob);
    expect(renamed.data?.updateMe).toEqual({ user: { id: userIdFor('bob@example.com'), name: 'Robert Example' }, userErrors: [] });
    expect((await graph.query('{ me { name } }', undefined, bob)).data?.me.name).toBe('Robert Example');
    const empty = await graph.query(mutation, { input: { name: '' } }, bob);
    expect(empty.data?.updateMe).toEqual({ user: null, userErrors: [{ field: ['input', 'name'], code: 'INVALID' }] });
    expect((await graph.query('{ me { name } }', undefined, bob)).data?.me.name).toBe('Robert Example');
    const anonymous = await graph.query(mutation, { input: { name: 'Mallory' } });
    expect(anonymous.data).toEqual({ updateMe: null });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
