// Ids of seeded rows are derived from stable names (uuid v5), so tools and tests can name a
// seeded user by email without opening a database.
import { v5 as uuidv5 } from 'uuid';

const NAMESPACE = '6f1c9a52-4b0e-4d55-9a63-0c3f3c2a7d10';

export const userIdFor = (email: string): string => uuidv5(`user:${email.toLowerCase()}`, NAMESPACE);
export const productIdFor = (n: number): string => uuidv5(`product:${n}`, NAMESPACE);
export const orderIdFor = (n: number): string => uuidv5(`order:${n}`, NAMESPACE);
export const orderItemIdFor = (order: number, position: number): string => uuidv5(`item:${order}:${position}`, NAMESPACE);
