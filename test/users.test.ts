import request from 'supertest';
import { as, startStack, uid, type TestStack } from './support/stack';

// Accounts administered through the API: create, disable, re-enable, reset a password; admin only.

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ worker: false });
});
afterAll(async () => {
  await stack?.close();
});

const admin = () => as(stack, 'admin');
const login = (username: string, password: string) =>
  request(stack.app).post('/api/auth/login').send({ username, password });
const tasks = (token: string) => request(stack.app).get('/api/tasks').set('Authorization', `Bearer ${token}`);

async function audit(action: string, entityId: number) {
  return stack.prisma.auditEvent.findMany({ where: { action, entityId: String(entityId) }, orderBy: { seq: 'asc' } });
}

async function changePassword(username: string, from: string, to: string) {
  const { token } = (await login(username, from)).body;
  const res = await request(stack.app)
    .post('/api/auth/change-password')
    .set('Authorization', `Bearer ${token}`)
    .send({ currentPassword: from, newPassword: to });
  expect(res.status).toBe(204);
}

test('the lifecycle of an account: create, first login, disable, enable, reset', async () => {
  const username = `clerk.${uid()}`;
  const created = await admin().post('/api/admin/users', {
    username,
    displayName: '南江二小新管理员',
    role: 'SCHOOL_CLERK',
    orgCode: '5119220002',
    password: 'initial-password-1',
  });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({
    id: expect.any(Number),
    username,
    role: 'SCHOOL_CLERK',
    orgCode: '5119220002',
    orgName: '南江县第二小学',
    active: true,
    mustChangePassword: true,
    lockedUntil: null,
  });
  const id = created.body.id as number;
  const list = await admin().get('/api/admin/users');
  expect(list.status).toBe(200);
  expect(list.body.items.map((u: { username: string }) => u.username)).toEqual(
    expect.arrayContaining(['admin', 'nj.s1', username]),
  );
  expect(JSON.stringify(list.body)).not.toMatch(/argon2|passwordHash|failedLogins/);

  // The administrator chose the first password: the user must replace it before doing anything else.
  const first = await login(username, 'initial-password-1');
  expect(first.body.user.mustChangePassword).toBe(true);
  expect((await tasks(first.body.token)).status).toBe(403);
  await changePassword(username, 'initial-password-1', 'chosen-by-the-clerk');
  const { token } = (await login(username, 'chosen-by-the-clerk')).body;
  expect((await tasks(token)).status).toBe(200);

  const disabled = await admin().post(`/api/admin/users/${id}/disable`);
  expect(disabled.status).toBe(200);
  expect(disabled.body.active).toBe(false);
  expect((await tasks(token)).status).toBe(401);
  expect((await login(username, 'chosen-by-the-clerk')).status).toBe(401);

  const enabled = await admin().post(`/api/admin/users/${id}/enable`);
  expect(enabled.body.active).toBe(true);
  expect((await tasks(token)).status).toBe(401); // the old login stays ended
  const again = (await login(username, 'chosen-by-the-clerk')).body.token;
  expect((await tasks(again)).status).toBe(200);

  const reset = await admin().post(`/api/admin/users/${id}/reset-password`, { password: 'temporary-pass-2' });
  expect(reset.status).toBe(200);
  expect(reset.body.mustChangePassword).toBe(true);
  expect((await tasks(again)).status).toBe(401);
  expect((await login(username, 'chosen-by-the-clerk')).status).toBe(401);
  const afterReset = await login(username, 'temporary-pass-2');
  expect(afterReset.body.user.mustChangePassword).toBe(true);
  const blocked = await tasks(afterReset.body.token);
  expect(blocked.status).toBe(403);
  expect(blocked.body.detail).toBe('请先修改密码');

  // Each change is audited with the administrator as actor.
  const adminUser = await stack.prisma.user.findUniqueOrThrow({ where: { username: 'admin' } });
  for (const action of ['user.create', 'user.disable', 'user.enable', 'user.reset_password']) {
    const rows = await audit(action, id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actorId: adminUser.id, entityType: 'User' });
    expect(JSON.stringify(rows[0].details)).not.toMatch(/password-|argon2/);
  }
  // The login that changed the password and the one after it.
  expect((await audit('user.disable', id))[0].details).toMatchObject({ username, sessionsEnded: 2 });
});

test('a re-enabled or reset account is unlocked too', async () => {
  const username = `locked.${uid()}`;
  const { id } = (
    await admin().post('/api/admin/users', {
      username,
      displayName: '锁定测试',
      role: 'COUNTY_OFFICER',
      orgCode: '511922',
      password: 'initial-password-1',
    })
  ).body;
  for (let i = 0; i < 5; i++) await login(username, 'wrong-guess');
  expect((await login(username, 'initial-password-1')).status).toBe(429);
  expect(
    (await admin().get('/api/admin/users')).body.items.find((u: { id: number }) => u.id === id).lockedUntil,
  ).toEqual(expect.any(String));
  await admin().post(`/api/admin/users/${id}/reset-password`, { password: 'temporary-pass-3' });
  expect((await login(username, 'temporary-pass-3')).status).toBe(200);
});

test('creation checks the username, the password and that the organisation fits the role', async () => {
  const base = { displayName: '某人', password: 'initial-password-1' };
  const cases: [Record<string, unknown>, number, string][] = [
    [{ username: 'nj.s1', role: 'SCHOOL_CLERK', orgCode: '5119220001' }, 409, ''],
    [{ username: `a.${uid()}`, role: 'SCHOOL_CLERK', orgCode: '511922' }, 422, 'orgCode'],
    [{ username: `b.${uid()}`, role: 'COUNTY_OFFICER', orgCode: '5119220001' }, 422, 'orgCode'],
    [{ username: `c.${uid()}`, role: 'SCHOOL_CLERK', orgCode: '9999999999' }, 422, 'orgCode'],
    [{ username: `d.${uid()}`, role: 'SCHOOL_CLERK' }, 400, 'orgCode'],
    [{ username: `e.${uid()}`, role: 'ADMIN', orgCode: '511922' }, 400, 'orgCode'],
    [{ username: `f.${uid()}`, role: 'ROOT' }, 400, 'role'],
    [{ username: '../admin', role: 'ADMIN' }, 400, 'username'],
    [{ username: `g.${uid()}`, role: 'ADMIN', password: 'short' }, 400, 'password'],
  ];
  for (const [body, status, field] of cases) {
    const res = await admin().post('/api/admin/users', { ...base, ...body });
    expect([body, res.status]).toEqual([body, status]);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    if (field) expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(field);
  }
  const sameAsName = await admin().post('/api/admin/users', {
    ...base,
    username: 'samename01',
    role: 'ADMIN',
    password: 'SameName01',
  });
  expect(sameAsName.status).toBe(400);
  expect(sameAsName.body.detail).toBe('密码不能与用户名相同');
  const adminOk = await admin().post('/api/admin/users', { ...base, username: `root.${uid()}`, role: 'ADMIN' });
  expect(adminOk.status).toBe(201);
  expect(adminOk.body.orgCode).toBeNull();
});

test('unknown and malformed ids, and an administrator disabling herself', async () => {
  expect((await admin().post('/api/admin/users/999999/disable')).status).toBe(404);
  expect((await admin().post('/api/admin/users/abc/enable')).status).toBe(400);
  expect((await admin().post('/api/admin/users/1/reset-password', {})).status).toBe(400);
  const me = await stack.prisma.user.findUniqueOrThrow({ where: { username: 'admin' } });
  const self = await admin().post(`/api/admin/users/${me.id}/disable`);
  expect(self.status).toBe(422);
  expect((await admin().get('/api/admin/users')).status).toBe(200);
});

test('anyone but an administrator gets 403 on every account route, and each denial is audited', async () => {
  const nj = await stack.prisma.user.findUniqueOrThrow({ where: { username: 'nj.edu' } });
  const before = await stack.prisma.auditEvent.count({ where: { action: 'auth.denied', actorId: nj.id } });
  const calls = [
    () => as(stack, 'nj.edu').get('/api/admin/users'),
    () =>
      as(stack, 'nj.edu').post('/api/admin/users', {
        username: `x.${uid()}`,
        displayName: 'x',
        role: 'ADMIN',
        password: 'initial-password-1',
      }),
    () => as(stack, 'nj.edu').post(`/api/admin/users/${nj.id}/enable`),
    () => as(stack, 'nj.edu').post('/api/admin/users/1/reset-password', { password: 'initial-password-1' }),
  ];
  for (const call of calls) {
    const res = await call();
    expect(res.status).toBe(403);
    expect(res.body.detail).toBe('您的账号没有此项操作的权限');
  }
  const denials = await stack.prisma.auditEvent.findMany({
    where: { action: 'auth.denied', actorId: nj.id },
    orderBy: { seq: 'asc' },
  });
  expect(denials.length - before).toBe(4);
  expect(denials.slice(-4).map((d) => (d.details as { path: string; method: string }).method)).toEqual([
    'GET',
    'POST',
    'POST',
    'POST',
  ]);
  expect((denials.at(-1)!.details as { path: string }).path).toBe('/api/admin/users/1/reset-password');
  expect(await stack.prisma.user.count({ where: { role: 'ADMIN', username: { startsWith: 'x.' } } })).toBe(0);
});

test('an officer of a 地市 or 省 bureau: created by an administrator, signs in as one, reaches its area and no other', async () => {
  const made: Record<string, string> = {};
  for (const [code, name, kind] of [
    ['5203', '遵义市教育局', 'CITY'],
    ['52', '贵州省教育厅', 'PROVINCE'],
  ]) {
    const username = `officer.${code}.${uid()}`;
    const created = await admin().post('/api/admin/users', {
      username,
      displayName: `${name}学籍科`,
      role: 'COUNTY_OFFICER',
      orgCode: code,
      password: 'initial-password-1',
    });
    expect([code, created.status]).toEqual([code, 201]);
    expect(created.body).toMatchObject({ role: 'COUNTY_OFFICER', orgCode: code, orgName: name });
    await changePassword(username, 'initial-password-1', 'chosen-by-the-officer');
    const signedIn = await login(username, 'chosen-by-the-officer');
    expect(signedIn.body.user).toMatchObject({ orgCode: code, orgName: name, orgKind: kind });
    made[code] = signedIn.body.token;
    const [event] = await audit('user.create', created.body.id);
    expect(event.details).toMatchObject({ username, role: 'COUNTY_OFFICER', orgCode: code });
  }
  // Acts for its bureau as the demo officers do: its 待办, and the pupils of its area's schools only (DESIGN §5
  // Reach): 赵磊 of 红花岗区第二小学 (遵义, 贵州), not 王芳 of 南江县实验小学 (巴中, 四川).
  const record = (token: string, studentNo: string) =>
    request(stack.app).get(`/api/students/${studentNo}`).set('Authorization', `Bearer ${token}`);
  for (const token of Object.values(made)) {
    expect((await tasks(token)).status).toBe(200);
    expect((await record(token, 'G520302201601010047')).status).toBe(200);
    expect((await record(token, 'G511922201403010035')).status).toBe(404);
  }
  // The kind must fit the role, named on the field, in Chinese.
  const refused: [Record<string, unknown>, RegExp][] = [
    [{ role: 'SCHOOL_CLERK', orgCode: '5203' }, /^遵义市教育局是教育局，学校学籍管理员须属于学校$/],
    [{ role: 'SCHOOL_CLERK', orgCode: '52' }, /^贵州省教育厅是教育局，学校学籍管理员须属于学校$/],
    [{ role: 'COUNTY_OFFICER', orgCode: '5203020001' }, /须属于区县、地市或省教育局（厅）$/],
    [{ role: 'COUNTY_OFFICER', orgCode: '5299' }, /^单位不存在$/],
  ];
  for (const [body, message] of refused) {
    const res = await admin().post('/api/admin/users', {
      username: `r.${uid()}`,
      displayName: '某人',
      password: 'initial-password-1',
      ...body,
    });
    expect([body, res.status]).toEqual([body, 422]);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.errors).toEqual([{ path: 'orgCode', message: expect.stringMatching(message) }]);
  }
  const missing = await admin().post('/api/admin/users', {
    username: `m.${uid()}`,
    displayName: '某人',
    password: 'initial-password-1',
    role: 'COUNTY_OFFICER',
  });
  expect(missing.status).toBe(400);
  expect(missing.body.errors).toEqual([
    { path: 'orgCode', message: '请填写所属单位（区县、地市或省教育局（厅）的代码）' },
  ]);
  // Only an administrator creates accounts, a bureau's officer not even under itself.
  const byOfficer = await request(stack.app)
    .post('/api/admin/users')
    .set('Authorization', `Bearer ${made['52']}`)
    .send({
      username: `s.${uid()}`,
      displayName: '某人',
      role: 'COUNTY_OFFICER',
      orgCode: '5203',
      password: 'initial-password-1',
    });
  expect(byOfficer.status).toBe(403);
});
