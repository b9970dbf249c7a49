// The deterministic seed: the same rows on every machine and every run (fixed PRNG), so tests
// and documentation can rely on them. Generated in memory in well under a second.
import { orderIdFor, orderItemIdFor, productIdFor, userIdFor } from './ids.js';

export const SEED = {
  users: 1000,
  products: 500,
  orders: 10_000,
  /** Orders reserved for the named accounts; the rest are spread over user0001 … user0997. */
  ordersOf: { 'alice@example.com': 40, 'bob@example.com': 35, 'admin@example.com': 3 } as Record<string, number>,
} as const;

export const CATEGORIES = ['books', 'electronics', 'garden', 'home', 'kitchen', 'sports', 'toys', 'beauty', 'grocery', 'music'] as const;

export interface SeedUser { id: string; email: string; name: string; role: 'USER' | 'ADMIN'; createdAt: Date }
export interface SeedProduct { id: string; sku: string; name: string; description: string; category: string; priceCents: number; stock: number; createdAt: Date }
export interface SeedOrder { id: string; userId: string; status: 'PENDING' | 'CONFIRMED' | 'REJECTED' | 'CANCELLED'; totalCents: number; createdAt: Date }
export interface SeedOrderItem { id: string; orderId: string; position: number; productId: string; productName: string; quantity: number; unitPriceCents: number }
export interface SeedData { users: SeedUser[]; products: SeedProduct[]; orders: SeedOrder[]; orderItems: SeedOrderItem[] }

/** mulberry32: small, fast, and good enough for fixtures. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Ada', 'Ben', 'Chloe', 'Dev', 'Elena', 'Farid', 'Grace', 'Hugo', 'Iris', 'Jonas', 'Kira', 'Liam', 'Maya', 'Noah', 'Olga', 'Pablo', 'Quinn', 'Rosa', 'Sami', 'Tara'];
const LAST = ['Adams', 'Baker', 'Chen', 'Diaz', 'Evans', 'Fischer', 'Garcia', 'Haddad', 'Ito', 'Jensen', 'Khan', 'Lopez', 'Moreau', 'Nowak', 'Okafor', 'Patel', 'Rossi', 'Silva', 'Tanaka', 'Weber'];
const ADJECTIVES = ['Classic', 'Compact', 'Deluxe', 'Eco', 'Everyday', 'Handmade', 'Modern', 'Portable', 'Premium', 'Rustic', 'Smart', 'Vintage'];
const NOUNS: Record<(typeof CATEGORIES)[number], string[]> = {
  books: ['Novel', 'Cookbook', 'Atlas', 'Notebook', 'Biography'],
  electronics: ['Headphones', 'Charger', 'Speaker', 'Keyboard', 'Monitor'],
  garden: ['Planter', 'Trowel', 'Hose', 'Lantern', 'Bench'],
  home: ['Lamp', 'Blanket', 'Clock', 'Mirror', 'Rug'],
  kitchen: ['Kettle', 'Skillet', 'Knife', 'Grinder', 'Teapot'],
  sports: ['Ball', 'Racket', 'Yoga Mat', 'Bottle', 'Helmet'],
  toys: ['Puzzle', 'Robot', 'Kite', 'Train Set', 'Blocks'],
  beauty: ['Soap', 'Brush', 'Serum', 'Comb', 'Balm'],
  grocery: ['Coffee', 'Tea', 'Honey', 'Olive Oil', 'Chocolate'],
  music: ['Guitar Strings', 'Drumsticks', 'Ukulele', 'Harmonica', 'Metronome'],
};

const BASE = Date.UTC(2025, 0, 1);
const HOUR = 3_600_000;

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** The email of the n-th numbered seeded user (1-based): user0001@example.com, … */
export const seededUserEmail = (n: number): string => `user${String(n).padStart(4, '0')}@example.com`;

export function generateSeed(): SeedData {
  const random = prng(20261122);

  const named: Array<Omit<SeedUser, 'id' | 'createdAt'>> = [
    { email: 'admin@example.com', name: 'Admin', role: 'ADMIN' },
    { email: 'alice@example.com', name: 'Alice Example', role: 'USER' },
    { email: 'bob@example.com', name: 'Bob Example', role: 'USER' },
  ];
  const numbered = SEED.users - named.length;
  for (let n = 1; n <= numbered; n++) {
    const email = seededUserEmail(n);
    named.push({ email, name: `${pick(random, FIRST)} ${pick(random, LAST)}`, role: 'USER' });
  }
  const users = named.map((u, i) => ({ ...u, id: userIdFor(u.email), createdAt: new Date(BASE + i * HOUR) }));

  const products: SeedProduct[] = [];
  for (let n = 1; n <= SEED.products; n++) {
    const category = CATEGORIES[(n - 1) % CATEGORIES.length] as (typeof CATEGORIES)[number];
    const name = `${pick(random, ADJECTIVES)} ${pick(random, NOUNS[category])}`;
    products.push({
      id: productIdFor(n),
      sku: `SKU-${String(n).padStart(5, '0')}`,
      name,
      description: `${name} from our ${category} range.`,
      category,
      priceCents: 199 + Math.floor(random() * 500) * 100 + (random() < 0.5 ? 99 : 0),
      stock: random() < 0.05 ? 0 : 1 + Math.floor(random() * 200),
      // Pairs of products share a timestamp, so keyset pagination must break ties by id.
      createdAt: new Date(BASE + Math.floor((n - 1) / 2) * HOUR),
    });
  }

  const owners: string[] = [];
  for (const [email, count] of Object.entries(SEED.ordersOf)) for (let i = 0; i < count; i++) owners.push(userIdFor(email));
  const others = users.filter((u) => !(u.email in SEED.ordersOf));
  while (owners.length < SEED.orders) owners.push(pick(random, others).id);

  const orders: SeedOrder[] = [];
  const orderItems: SeedOrderItem[] = [];
  owners.forEach((userId, i) => {
    const n = i + 1;
    const id = orderIdFor(n);
    const lines = 1 + Math.floor(random() * 5);
    const chosen = new Set<SeedProduct>();
    while (chosen.size < lines) chosen.add(pick(random, products));
    let totalCents = 0;
    [...chosen].forEach((product, position) => {
      const quantity = 1 + Math.floor(random() * 3);
      totalCents += quantity * product.priceCents;
      orderItems.push({ id: orderItemIdFor(n, position), orderId: id, position, productId: product.id, productName: product.name, quantity, unitPriceCents: product.priceCents });
    });
    const roll = random();
    const status = roll < 0.85 ? 'CONFIRMED' : roll < 0.9 ? 'PENDING' : roll < 0.95 ? 'CANCELLED' : 'REJECTED';
    // Whole seconds within the seed year: some orders share a timestamp, on purpose.
    orders.push({ id, userId, status, totalCents, createdAt: new Date(BASE + 30 * 24 * HOUR + Math.floor(random() * 330 * 24 * 3600) * 1000) });
  });

  return { users, products, orders, orderItems };
}
