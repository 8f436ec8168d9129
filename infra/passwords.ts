import { hash, verify } from '@node-rs/argon2';

// argon2id with the library's defaults (19 MiB, t=2): OWASP's minimum recommendation. Here rather than in api/ so the
// seed (infra/seed.ts) hashes demo passwords the way logins check them without reaching up into the HTTP layer.
export const hashPassword = (password: string) => hash(password);
export const verifyPassword = (passwordHash: string, password: string) => verify(passwordHash, password);
