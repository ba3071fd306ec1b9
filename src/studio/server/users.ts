import { createHash, randomBytes } from 'node:crypto';
import { MmalignError } from '../../util/errors.ts';
import type { Db } from './db.ts';

export const ROLES = ['annotator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export interface User {
  id: number;
  name: string;
  role: Role;
}

/** Only the sha256 of a token is stored: a copied database file does not hand out logins. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function createUser(db: Db, name: string, role: Role): { user: User; token: string } {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name))
    throw new MmalignError('MMALIGN_STUDIO_BAD_NAME', `user name "${name}" is not allowed`, {
      hint: 'use 1-64 letters, digits, "_", "." or "-"',
    });
  if (db.prepare('SELECT 1 FROM users WHERE name = ?').get(name))
    throw new MmalignError('MMALIGN_STUDIO_USER_EXISTS', `user "${name}" already exists`, {
      hint: 'pick another name, or use `mmalign studio users token NAME` to issue a new token',
    });
  const token = `${role === 'admin' ? 'adm' : 'ann'}_${randomBytes(24).toString('base64url')}`;
  const r = db
    .prepare('INSERT INTO users (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)')
    .run(name, role, hashToken(token), new Date().toISOString());
  return { user: { id: Number(r.lastInsertRowid), name, role }, token };
}

/** Replace a user's token (the old one stops working at once). */
export function resetToken(db: Db, name: string): string {
  const u = db.prepare('SELECT role FROM users WHERE name = ?').get(name) as { role: Role } | undefined;
  if (!u) throw new MmalignError('MMALIGN_STUDIO_NO_USER', `no user "${name}"`);
  const token = `${u.role === 'admin' ? 'adm' : 'ann'}_${randomBytes(24).toString('base64url')}`;
  db.prepare('UPDATE users SET token_hash = ? WHERE name = ?').run(hashToken(token), name);
  return token;
}

export function userByToken(db: Db, token: string): User | undefined {
  return db.prepare('SELECT id, name, role FROM users WHERE token_hash = ?').get(hashToken(token)) as User | undefined;
}

export function listUsers(db: Db): User[] {
  return db.prepare('SELECT id, name, role FROM users ORDER BY id').all() as User[];
}
