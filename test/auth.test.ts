import { randomBytes } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import request from 'supertest';
import { AUTH_CACHE_MS, hashPassword } from '../api/auth';
import { loadConfig } from '../config';
import { as, startStack, uid, type TestStack } from './support/stack';

// The session layer tried as an attacker would: tokens forged, altered, replayed and revoked, passwords
// guessed, origins and sizes abused. Every refusal must be a 401/403/413/429 problem+json, never a 200.

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ worker: false });
});
afterAll(async () => {
  await stack?.close();
});

const PASSWORD = 'correct-horse-battery';

/** A fresh clerk of its own (demo users are shared with other tests in this file). */
async function newUser(opts: { mustChangePassword?: boolean } = {}) {
  const username = `user-${uid()}`;
  const user = await stack.prisma.user.create({
    data: {
      username,
      displayName: `测试用户${username}`,
      role: 'SCHOOL_CLERK',
      orgCode: '5119220002',
      passwordHash: await hashPassword(PASSWORD),
      mustChangePassword: opts.mustChangePassword ?? false,
    },
  });
  return user;
}

const login = (username: string, password = PASSWORD, app = stack.app) =>
  request(app).post('/api/auth/login').send({ username, password });
const tasks = (token: string, app = stack.app) =>
  request(app).get('/api/tasks').set('Authorization', `Bearer ${token}`);
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

async function auditRows(action: string, username?: string) {
  const rows = await stack.prisma.auditEvent.findMany({ where: { action }, orderBy: { seq: 'asc' } });
  return username ? rows.filter((r) => (r.details as { username?: string } | null)?.username === username) : rows;
}

describe('login', () => {
  test('answers the access token, a refresh token, its lifetime and whether the password must be changed', async () => {
    const user = await newUser();
    const res = await login(user.username);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      token: expect.any(String),
      refreshToken: expect.any(String),
      expiresIn: 3600,
      user: {
        username: user.username,
        displayName: user.displayName,
        role: 'SCHOOL_CLERK',
        orgCode: '5119220002',
        orgName: '南江县第二小学',
        orgKind: 'SCHOOL',
        mustChangePassword: false,
      },
    });
    const claims = decodeJwt(res.body.token);
    expect(claims).toMatchObject({ sub: String(user.id), sid: expect.any(String) });
    const session = await stack.prisma.session.findUniqueOrThrow({ where: { id: claims.sid as string } });
    // Only the refresh token's hash is stored.
    expect(session.refreshHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(session)).not.toContain(res.body.refreshToken);
    expect((await tasks(res.body.token)).status).toBe(200);
    expect(await auditRows('auth.login', user.username)).toHaveLength(1);
  });

  test('an unknown username and a wrong password get the same 401 and the same message, with the attempts left', async () => {
    const user = await newUser();
    const wrong = await login(user.username, 'not-the-password');
    const unknown = await login(`nobody-${uid()}`, 'not-the-password');
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.detail).toBe(
        '用户名或密码不正确。再输错 4 次，该账号将被锁定 15 分钟（忘记密码请联系系统管理员重置）',
      );
      expect(res.body.attemptsLeft).toBe(4);
    }
    expect(Object.keys(wrong.body).sort()).toEqual(Object.keys(unknown.body).sort());
    const failed = await auditRows('auth.login_failed', user.username);
    expect(failed).toHaveLength(1);
    expect(failed[0].details).toMatchObject({ reason: 'wrong_password', failures: 1 });
    expect(JSON.stringify(failed[0].details)).not.toContain('not-the-password');
  });
});

describe('access tokens an attacker might present', () => {
  let user: Awaited<ReturnType<typeof newUser>>;
  let token: string;
  let claims: ReturnType<typeof decodeJwt>;
  const key = () => new TextEncoder().encode(stack.tokenSecret);

  beforeAll(async () => {
    user = await newUser();
    token = (await login(user.username)).body.token;
    claims = decodeJwt(token);
  });

  test('the genuine token works (the control)', async () => {
    expect((await tasks(token)).status).toBe(200);
  });

  test('expired: signed with the right key, for the right session, but past its exp → 401', async () => {
    const past = Math.floor(Date.now() / 1000) - 120;
    const expired = await new SignJWT({ username: user.username, sid: claims.sid })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(String(user.id))
      .setIssuedAt(past - 900)
      .setExpirationTime(past)
      .sign(key());
    expect((await tasks(expired)).status).toBe(401);
  });

  test('forged: the same claims signed with another key → 401', async () => {
    const forged = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(randomBytes(32).toString('hex')));
    expect((await tasks(forged)).status).toBe(401);
  });

  test('tampered: the payload edited to another user (the admin), the signature kept → 401', async () => {
    const admin = await stack.prisma.user.findUniqueOrThrow({ where: { username: 'admin' } });
    const [header, , signature] = token.split('.');
    const edited = `${header}.${b64url({ ...claims, sub: String(admin.id), username: 'admin' })}.${signature}`;
    expect((await tasks(edited)).status).toBe(401);
    expect((await request(stack.app).get('/api/admin/stuck').set('Authorization', `Bearer ${edited}`)).status).toBe(
      401,
    );
  });

  test('alg=none: an unsigned token with valid claims → 401', async () => {
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
    expect((await tasks(unsigned)).status).toBe(401);
  });

  test('another algorithm with the right key (HS512) → 401: the algorithm is pinned', async () => {
    const hs512 = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS512' }).sign(key());
    expect((await tasks(hs512)).status).toBe(401);
  });

  test("the right key but another user's session, or no session at all → 401", async () => {
    const other = await newUser();
    const signed = (payload: Record<string, unknown>) =>
      new SignJWT(payload)
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(String(other.id))
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key());
    expect((await tasks(await signed({ sid: claims.sid }))).status).toBe(401);
    expect((await tasks(await signed({}))).status).toBe(401);
    expect((await tasks(await signed({ sid: 'not-a-session' }))).status).toBe(401);
  });
});

describe('revoked logins', () => {
  test('after logout the access token and the refresh token are refused', async () => {
    const user = await newUser();
    const { token, refreshToken } = (await login(user.username)).body;
    const out = await request(stack.app).post('/api/auth/logout').set('Authorization', `Bearer ${token}`);
    expect(out.status).toBe(204);
    expect((await tasks(token)).status).toBe(401);
    expect((await request(stack.app).post('/api/auth/refresh').send({ refreshToken })).status).toBe(401);
    expect((await request(stack.app).post('/api/auth/logout').set('Authorization', `Bearer ${token}`)).status).toBe(
      401,
    );
    expect(await auditRows('auth.logout', user.username)).toHaveLength(1);
  });

  test('logout with the refresh token alone (the access token has expired) ends the login', async () => {
    const user = await newUser();
    const { token, refreshToken } = (await login(user.username)).body;
    expect((await request(stack.app).post('/api/auth/logout').send({ refreshToken })).status).toBe(204);
    expect((await tasks(token)).status).toBe(401);
    expect((await request(stack.app).post('/api/auth/logout').send({ refreshToken: 'x' })).status).toBe(401);
  });

  test('after the account is disabled its tokens are refused at once, and stay refused when it is enabled again', async () => {
    const user = await newUser();
    const { token, refreshToken } = (await login(user.username)).body;
    const admin = await stack.login('admin');
    const adm = (path: string) =>
      request(stack.app).post(`/api/admin/users/${user.id}/${path}`).set('Authorization', `Bearer ${admin}`);
    expect((await adm('disable')).status).toBe(200);
    expect((await tasks(token)).status).toBe(401);
    expect((await request(stack.app).post('/api/auth/refresh').send({ refreshToken })).status).toBe(401);
    const disabledLogin = await login(user.username);
    expect(disabledLogin.status).toBe(401);
    expect(disabledLogin.body.detail).toMatch(/^用户名或密码不正确。再输错 \d 次/);
    expect((await adm('enable')).status).toBe(200);
    expect((await tasks(token)).status).toBe(401);
    expect((await login(user.username)).status).toBe(200);
  });

  test("after a password change the user's other logins end; this one goes on; the old password stops working", async () => {
    const user = await newUser();
    const a = (await login(user.username)).body;
    const b = (await login(user.username)).body;
    const changed = await request(stack.app)
      .post('/api/auth/change-password')
      .set('Authorization', `Bearer ${a.token}`)
      .send({ currentPassword: PASSWORD, newPassword: 'a-much-newer-password' });
    expect(changed.status).toBe(204);
    expect((await tasks(b.token)).status).toBe(401);
    expect((await request(stack.app).post('/api/auth/refresh').send({ refreshToken: b.refreshToken })).status).toBe(
      401,
    );
    expect((await tasks(a.token)).status).toBe(200);
    expect((await login(user.username)).status).toBe(401);
    expect((await login(user.username, 'a-much-newer-password')).status).toBe(200);
    const [event] = await auditRows('auth.password_changed', user.username);
    expect(event.details).toMatchObject({ otherSessionsEnded: 1 });
    expect(JSON.stringify(event.details)).not.toContain('newer-password');
  });

  test('change-password refuses a wrong current password and weak new ones, naming the field', async () => {
    const user = await newUser();
    const { token } = (await login(user.username)).body;
    const change = (currentPassword: string, newPassword: string) =>
      request(stack.app)
        .post('/api/auth/change-password')
        .set('Authorization', `Bearer ${token}`)
        .send({ currentPassword, newPassword });
    const wrong = await change('wrong-password', 'a-fine-new-password');
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors).toEqual([{ path: 'currentPassword', message: '当前密码不正确' }]);
    for (const [pw, msg] of [
      ['short', '新密码至少 10 个字符'],
      [user.username.toUpperCase(), '新密码不能与用户名相同'],
      [PASSWORD, '新密码不能与当前密码相同'],
    ]) {
      const res = await change(PASSWORD, pw);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ path: 'newPassword', message: msg }]);
    }
    expect((await stack.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).failedLogins).toBe(1);
  });
});

describe('the per-process cache of who a session is (DESIGN §5: at most 5 s)', () => {
  test('a login ended by another API process stops working here within 5 s, without this process being told', async () => {
    const user = await newUser();
    const token = (await login(user.username)).body.token as string;
    expect((await tasks(token)).status).toBe(200); // now cached here
    const { sid } = decodeJwt(token) as { sid: string };
    // Another replica revokes it: the database changes, this process hears nothing.
    const ended = Date.now();
    await stack.prisma.session.update({ where: { id: sid }, data: { revokedAt: new Date() } });
    let status = 200;
    while (status === 200 && Date.now() - ended < 7_000) {
      status = (await tasks(token)).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(401);
    expect(Date.now() - ended).toBeLessThanOrEqual(AUTH_CACHE_MS + 500);
  }, 15_000);

  test('disabling an account through this process ends its access here at once, however recently it was cached', async () => {
    const user = await newUser();
    const token = (await login(user.username)).body.token as string;
    expect((await tasks(token)).status).toBe(200);
    const admin = (await login('admin', 'demo-password')).body.token as string;
    const disabled = await request(stack.app)
      .post(`/api/admin/users/${user.id}/disable`)
      .set('Authorization', `Bearer ${admin}`);
    expect(disabled.status).toBe(200);
    expect((await tasks(token)).status).toBe(401);
  });
});

describe('refresh tokens', () => {
  test('rotate: each refresh answers a new pair and spends the old refresh token', async () => {
    const user = await newUser();
    const first = (await login(user.username)).body;
    const r1 = await request(stack.app).post('/api/auth/refresh').send({ refreshToken: first.refreshToken });
    expect(r1.status).toBe(200);
    expect(r1.body).toMatchObject({ token: expect.any(String), refreshToken: expect.any(String), expiresIn: 3600 });
    expect(r1.body.refreshToken).not.toBe(first.refreshToken);
    expect(decodeJwt(r1.body.token).sid).toBe(decodeJwt(first.token).sid);
    expect((await tasks(r1.body.token)).status).toBe(200);
    const r2 = await request(stack.app).post('/api/auth/refresh').send({ refreshToken: r1.body.refreshToken });
    expect(r2.status).toBe(200);
  });

  test('reuse of a spent refresh token (stolen and replayed) ends the whole login, for the thief and the owner', async () => {
    const user = await newUser();
    const first = (await login(user.username)).body;
    const rotated = (await request(stack.app).post('/api/auth/refresh').send({ refreshToken: first.refreshToken }))
      .body;
    const replay = await request(stack.app).post('/api/auth/refresh').send({ refreshToken: first.refreshToken });
    expect(replay.status).toBe(401);
    expect(replay.body.detail).toMatch(/已使用过/);
    // The current refresh token and every access token of that login are dead too.
    expect(
      (await request(stack.app).post('/api/auth/refresh').send({ refreshToken: rotated.refreshToken })).status,
    ).toBe(401);
    expect((await tasks(rotated.token)).status).toBe(401);
    expect((await tasks(first.token)).status).toBe(401);
    const session = await stack.prisma.session.findUniqueOrThrow({
      where: { id: decodeJwt(first.token).sid as string },
    });
    expect(session.revokedAt).not.toBeNull();
    expect((await auditRows('auth.refresh_reused')).some((e) => e.entityId === session.id)).toBe(true);
    // Another login of the same user is untouched.
    expect((await login(user.username)).status).toBe(200);
  });

  test('garbage, a made-up token for a real session, and odd bodies are 400/401, never 5xx', async () => {
    const user = await newUser();
    const { token } = (await login(user.username)).body;
    const sid = decodeJwt(token).sid as string;
    for (const refreshToken of ['x', `${sid}.${'A'.repeat(43)}`, `${sid}.${'A'.repeat(43)}.x`, 'a'.repeat(200)]) {
      const res = await request(stack.app).post('/api/auth/refresh').send({ refreshToken });
      expect(res.status).toBe(401);
    }
    // A made-up token naming the session counts as reuse: a key-less attacker can end a login, not take it.
    expect((await tasks(token)).status).toBe(401);
    for (const body of [{}, { refreshToken: 5 }, { refreshToken: 'a'.repeat(201) }]) {
      expect((await request(stack.app).post('/api/auth/refresh').send(body)).status).toBe(400);
    }
  });
});

describe('guessing passwords', () => {
  test('5 wrong passwords lock the account: the 6th attempt, with the RIGHT password, gets 429 with Retry-After', async () => {
    const user = await newUser();
    for (let i = 1; i <= 4; i++) expect((await login(user.username, `guess-${i}`)).status).toBe(401);
    const fifth = await login(user.username, 'guess-5');
    expect(fifth.status).toBe(429);
    const sixth = await login(user.username, PASSWORD);
    expect(sixth.status).toBe(429);
    expect(sixth.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(sixth.body.detail).toMatch(/账号已被暂时锁定，请 15 分钟后再试/);
    const retryAfter = Number(sixth.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(14 * 60);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    const row = await stack.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(row.lockedUntil!.getTime()).toBeGreaterThan(Date.now() + 14 * 60_000);
    // Audited: five failures, the lock, and the attempt refused while locked.
    const failed = await auditRows('auth.login_failed', user.username);
    expect(failed.map((e) => (e.details as { reason: string }).reason)).toEqual([
      ...Array(5).fill('wrong_password'),
      'locked',
    ]);
    const [locked] = await auditRows('auth.locked', user.username);
    expect(locked.details).toMatchObject({ failures: 5 });
  });

  test('each wrong password counts down the attempts left, the same for a username that does not exist', async () => {
    const user = await newUser();
    const ghost = `ghost-${uid()}`;
    for (const name of [user.username, ghost]) {
      const left: number[] = [];
      for (let i = 1; i <= 4; i++) left.push((await login(name, `guess-${i}`)).body.attemptsLeft);
      expect(left).toEqual([4, 3, 2, 1]);
      expect((await login(name, 'guess-5')).status).toBe(429);
    }
  });

  test('letter case does not tell a real username from an unknown one: two wrong tries in different case count alike', async () => {
    const user = await newUser();
    const ghost = `ghost-${uid()}`;
    const sequences = [];
    for (const name of [user.username, ghost]) {
      const left: number[] = [];
      for (const typed of [name.toUpperCase(), name]) left.push((await login(typed, 'wrong')).body.attemptsLeft);
      sequences.push(left);
    }
    // Each spelling is counted on its own, for an account (looked up as typed) and for a name that does not exist.
    expect(sequences[0]).toEqual([4, 4]);
    expect(sequences[1]).toEqual(sequences[0]);
  });

  test('an administrator unlocks a locked account at once (audited); the user signs in with the right password', async () => {
    const user = await newUser();
    for (let i = 0; i < 5; i++) await login(user.username, 'wrong');
    expect((await login(user.username, PASSWORD)).status).toBe(429);
    const admin = as(stack, 'admin');
    const list = await admin.get('/api/admin/users');
    expect(list.body.items.find((u: { id: number }) => u.id === user.id).lockedUntil).not.toBeNull();
    expect((await as(stack, 'hhg.s1').post(`/api/admin/users/${user.id}/unlock`)).status).toBe(403);
    const unlocked = await admin.post(`/api/admin/users/${user.id}/unlock`);
    expect(unlocked.status).toBe(200);
    expect(unlocked.body.lockedUntil).toBeNull();
    expect((await admin.post(`/api/admin/users/${user.id}/unlock`)).status).toBe(409);
    expect((await login(user.username, PASSWORD)).status).toBe(200);
    const [event] = await stack.prisma.auditEvent.findMany({
      where: { action: 'user.unlock', entityId: String(user.id) },
    });
    expect(event.details).toMatchObject({ username: user.username, lockedUntil: expect.any(String) });
  });

  test('the lock survives a restart: another app on the same database refuses too', async () => {
    const user = await newUser();
    for (let i = 0; i < 5; i++) await login(user.username, 'wrong');
    const restarted = stack.appWith({});
    expect((await login(user.username, PASSWORD, restarted)).status).toBe(429);
  });

  test('a locked account opens again once the lock has passed (lock of 300 ms here), and the count starts over', async () => {
    const app = stack.appWith({ lockMs: 300 });
    const user = await newUser();
    for (let i = 0; i < 5; i++) await login(user.username, 'wrong', app);
    expect((await login(user.username, PASSWORD, app)).status).toBe(429);
    const { lockedUntil } = await stack.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    await new Promise((r) => setTimeout(r, Math.max(0, lockedUntil!.getTime() - Date.now()) + 50));
    expect((await login(user.username, PASSWORD, app)).status).toBe(200);
    expect(await stack.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({
      failedLogins: 0,
      lockedUntil: null,
    });
  });

  test('a successful login resets the count: failures must be consecutive', async () => {
    const user = await newUser();
    for (let i = 0; i < 4; i++) await login(user.username, 'wrong');
    expect((await login(user.username)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await login(user.username, 'wrong')).status).toBe(401);
    expect((await login(user.username)).status).toBe(200);
  });

  test('an unknown username "locks" the same way, so the lock does not tell which usernames exist', async () => {
    const ghost = `ghost-${uid()}`;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await login(ghost, `guess-${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
  });

  test('guesses at the current password through change-password count towards the same lock', async () => {
    const user = await newUser();
    const { token } = (await login(user.username)).body;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await request(stack.app)
        .post('/api/auth/change-password')
        .set('Authorization', `Bearer ${token}`)
        .send({ currentPassword: `guess-${i}`, newPassword: 'a-fine-new-password' });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([400, 400, 400, 400, 429, 429]);
    expect((await login(user.username)).status).toBe(429);
  });

  test('one address: after 3 failed logins (limit 3 here) the 4th is 429 with Retry-After, whatever the account', async () => {
    const app = stack.appWith({ loginIpLimit: 3, loginIpWindowMs: 60_000 });
    const user = await newUser();
    // Successful logins give their count back: a school's clerks behind one address are not throttled.
    for (let i = 0; i < 5; i++) expect((await login(user.username, PASSWORD, app)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await login(`spray-${uid()}`, 'Summer2026!', app)).status).toBe(401);
    const limited = await login(user.username, PASSWORD, app);
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(limited.body.detail).toMatch(/此网络地址的登录尝试过多/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    // The limit is per process and per address; the account itself is not locked.
    expect((await stack.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).lockedUntil).toBeNull();
  });
});

describe('a password reset by an administrator', () => {
  test('blocks every other route with 403 "请先修改密码" until the user changes it', async () => {
    const user = await newUser({ mustChangePassword: true });
    const res = await login(user.username);
    expect(res.status).toBe(200);
    expect(res.body.user.mustChangePassword).toBe(true);
    const { token, refreshToken } = res.body;
    for (const path of ['/api/tasks', '/api/applications', '/api/students/G520302201505050014']) {
      const blocked = await request(stack.app).get(path).set('Authorization', `Bearer ${token}`);
      expect(blocked.status).toBe(403);
      expect(blocked.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(blocked.body.detail).toBe('请先修改密码');
    }
    // Refresh still works (the client keeps its login while the user types a new password).
    const refreshed = await request(stack.app).post('/api/auth/refresh').send({ refreshToken });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.user.mustChangePassword).toBe(true);
    const changed = await request(stack.app)
      .post('/api/auth/change-password')
      .set('Authorization', `Bearer ${refreshed.body.token}`)
      .send({ currentPassword: PASSWORD, newPassword: 'my-own-new-password' });
    expect(changed.status).toBe(204);
    expect((await tasks(refreshed.body.token)).status).toBe(200);
    // Each refusal was audited as a denial, the ID number in the path masked.
    const denials = (await auditRows('auth.denied')).filter((e) => e.actorId === user.id);
    expect(denials.map((e) => (e.details as { path: string }).path)).toEqual([
      '/api/tasks',
      '/api/applications',
      '/api/students/G520302********0014',
    ]);
    expect(denials[0].details).toMatchObject({ method: 'GET', reason: '请先修改密码' });
  });
});

describe('permission denials', () => {
  test('a 403 is audited with who, the method and the path', async () => {
    const res = await request(stack.app)
      .get('/api/admin/stuck?overdueOnly=true')
      .set('Authorization', `Bearer ${await stack.login('nj.s1')}`);
    expect(res.status).toBe(403);
    const nj = await stack.prisma.user.findUniqueOrThrow({ where: { username: 'nj.s1' } });
    const denial = (await auditRows('auth.denied')).filter((e) => e.actorId === nj.id).at(-1);
    expect(denial).toMatchObject({ actorName: nj.displayName, orgCode: '5119220001' });
    expect(denial!.details).toMatchObject({ method: 'GET', path: '/api/admin/stuck', username: 'nj.s1' });
  });
});

describe('HTTP hardening', () => {
  test('security headers are set and X-Powered-By is not', async () => {
    const res = await request(stack.app).get('/api/openapi.json');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'|default-src/);
    expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    // Errors too.
    const err = await request(stack.app).get('/api/tasks');
    expect(err.headers['x-content-type-options']).toBe('nosniff');
  });

  test('CORS is closed by default: no Access-Control-Allow-Origin, not even on a preflight', async () => {
    const evil = 'https://evil.example';
    const get = await request(stack.app).get('/api/openapi.json').set('Origin', evil);
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await request(stack.app)
      .options('/api/auth/login')
      .set('Origin', evil)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type');
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  test('CORS opens for a configured origin only', async () => {
    const origin = 'https://xueji.example.org';
    const app = stack.appWith({ corsOrigins: [origin] });
    const ok = await request(app).get('/api/openapi.json').set('Origin', origin);
    expect(ok.headers['access-control-allow-origin']).toBe(origin);
    const preflight = await request(app)
      .options('/api/applications')
      .set('Origin', origin)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type');
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(origin);
    expect(preflight.headers['access-control-allow-headers']).toMatch(/Authorization/);
    const other = await request(app).get('/api/openapi.json').set('Origin', 'https://xueji.example.org.evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  test('a JSON body over 100 kb is refused with 413 before anything reads it', async () => {
    const big = JSON.stringify({ username: 'admin', password: 'x'.repeat(150_000) });
    const res = await request(stack.app).post('/api/auth/login').set('Content-Type', 'application/json').send(big);
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  });
});

describe('configuration', () => {
  test('defaults: 15-minute access tokens, 12-hour logins, lock after 5 failures for 15 minutes, CORS closed', () => {
    expect(loadConfig({})).toMatchObject({
      ACCESS_TOKEN_TTL: '15m',
      REFRESH_TOKEN_TTL: '12h',
      LOGIN_MAX_FAILURES: 5,
      LOGIN_LOCK_DURATION: '15m',
      LOGIN_IP_LIMIT: 30,
      LOGIN_IP_WINDOW: '1m',
      CORS_ORIGINS: [],
      IMPORT_MAX_ROWS: 20_000,
    });
  });

  test('bad values are named', () => {
    expect(() => loadConfig({ ACCESS_TOKEN_TTL: '15 minutes' })).toThrow(/ACCESS_TOKEN_TTL/);
    expect(() => loadConfig({ LOGIN_MAX_FAILURES: '0' })).toThrow(/LOGIN_MAX_FAILURES/);
    expect(() => loadConfig({ CORS_ORIGINS: '*' })).toThrow(/CORS_ORIGINS/);
    expect(() => loadConfig({ CORS_ORIGINS: 'https://a.example/path' })).toThrow(/CORS_ORIGINS/);
    expect(() => loadConfig({ TOKEN_TTL: '8h' })).toThrow(/TOKEN_TTL.*ACCESS_TOKEN_TTL/);
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example, http://localhost:5173/' }).CORS_ORIGINS).toEqual([
      'https://a.example',
      'http://localhost:5173',
    ]);
  });
});
