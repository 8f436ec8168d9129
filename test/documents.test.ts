import path from 'node:path';
import * as fontkit from 'fontkit';
import request from 'supertest';
import { shanghaiDate } from '../domain/calendar';
import { FONT_FILES } from '../api/services/document-pdf';
import { ensurePoppler, decodeQr, pdfPagePng, pdfText } from './support/poppler';
import { as, decideAs, registerPupil, startStack, SOON, WANG, type TestStack } from './support/stack';

// Printing: 审批表 for every case, 联系函 for an approved transfer, each a PDF with a Chinese font subset embedded, a
// QR code and a code that the public verification page (no login) checks. Read back with pdftotext and a QR
// decoder; page 1 of each is kept under test-artifacts/pdf/ for a person to look at.

let stack: TestStack;
const APP_URL = 'https://xueji.example.cn';
let transferId: number;
const NAME = '王喆玥堃'; // 喆, 玥, 堃: outside GB 2312

beforeAll(async () => {
  ensurePoppler();
  stack = await startStack({ appUrl: APP_URL });
  // A pupil whose name needs characters beyond GB 2312, at 遵义市红花岗区第一小学; 南江县实验小学 takes her in.
  const reg = await registerPupil(stack, 'hhg.s1', {
    name: NAME,
    gender: 'FEMALE',
    birthDate: '2015-03-03',
    serial: '128',
    grade: 3,
    className: '3年级2班',
  });
  expect(reg.status).toBe(201);
  const filed = await as(stack, 'nj.s1').post('/api/applications', {
    type: 'TRANSFER',
    studentNo: reg.body.studentNo,
    reasonCode: '01',
    reason: '父亲调往南江县工作',
    effectiveDate: SOON,
  });
  expect(filed.status).toBe(201);
  transferId = filed.body.id;
  for (const [user, stage] of [
    ['nj.s1', 'RECEIVING_SCHOOL'],
    ['nj.edu', 'RECEIVING_COUNTY'],
    ['hhg.s1', 'SENDING_SCHOOL'],
    ['hhg.edu', 'SENDING_COUNTY'],
  ]) {
    const r = await decideAs(stack, user, transferId, stage, 'APPROVE', `${stage} 同意`);
    expect(r.status).toBe(200);
  }
});
afterAll(async () => {
  await stack?.close();
});

/** Downloads a PDF as bytes. */
async function pdf(user: string, url: string) {
  return request(stack.app)
    .get(url)
    .set('Authorization', `Bearer ${await stack.login(user)}`)
    .buffer(true)
    .parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    });
}

const verify = (body: unknown, ip = '203.0.113.7', app = stack.app) =>
  request(app)
    .post('/api/public/verify')
    .set('X-Forwarded-For', ip)
    .send(body as object);

/** The reference and code a printed page carries, read from its QR code. */
function credentialsOf(bytes: Buffer) {
  const url = decodeQr(bytes);
  expect(url).toMatch(new RegExp(`^${APP_URL.replace(/\./g, '\\.')}/verify/[0-9A-Z]{8}#[0-9A-Z]{10}$`));
  const [, ref, code] = /\/verify\/([0-9A-Z]+)#([0-9A-Z]+)$/.exec(url!)!;
  return { ref, code };
}

describe('the font', () => {
  test('covers names outside GB 2312 (喆, 玥, 堃) and every character the documents print', () => {
    const font = fontkit.openSync(FONT_FILES.regular) as fontkit.Font;
    for (const c of `${NAME}学籍异动审批表转学联系函遵义市红花岗区第一小学南江县教育局核验码`) {
      expect([c, font.hasGlyphForCodePoint(c.codePointAt(0)!)]).toEqual([c, true]);
    }
  });
});

describe('学籍异动审批表 (form.pdf)', () => {
  test('an A4 PDF whose text holds the pupil, each decision with its organisation and date, and a QR code that verifies', async () => {
    const res = await pdf('nj.s1', `/api/applications/${transferId}/form.pdf`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    const bytes = res.body as Buffer;
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    // A4, and the font embedded as a subset (a six-letter tag before its name), not the whole 10 MB file.
    expect(bytes.toString('latin1')).toMatch(/\/MediaBox \[0 0 595\.28 841\.89\]/);
    expect(bytes.toString('latin1')).toMatch(/\/BaseFont \/[A-Z]{6}\+NotoSansSC-Regular/);
    expect(bytes.length).toBeLessThan(400_000);

    const text = pdfText(bytes);
    expect(text).toContain('学生学籍异动审批表');
    expect(text).toContain(NAME);
    expect(text).toContain('随父母工作调动：父亲调往南江县工作');
    const steps = await stack.prisma.applicationStep.findMany({
      where: { applicationId: transferId },
      include: { org: true },
      orderBy: { seq: 'asc' },
    });
    expect(steps).toHaveLength(4);
    for (const s of steps) {
      expect(text).toContain(s.org.name);
      expect(text).toContain(shanghaiDate(s.decidedAt!.getTime()));
    }
    expect(text).toContain('审批通过');
    // Masked 学籍号 only: the ID number never prints whole.
    const pupil = await stack.prisma.student.findFirstOrThrow({ where: { name: NAME } });
    expect(text).not.toContain(pupil.idNumber!);
    expect(text).toContain(`G${pupil.idNumber!.slice(0, 6)}********${pupil.idNumber!.slice(14)}`);

    const { ref, code } = credentialsOf(bytes);
    expect(res.headers['x-document-ref']).toBe(ref);
    // What the QR code says is printed for typing too, in groups of four.
    expect(text.replace(/\s+/g, '')).toContain(`文件编号：${ref.slice(0, 4)}-${ref.slice(4)}`);
    expect(text.replace(/\s+/g, '')).toContain(`核验码：${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}`);
    pdfPagePng(bytes, 110, path.join(__dirname, '..', 'test-artifacts', 'pdf', 'form-transfer.png'));

    // The public page: the facts as printed, the name masked, no ID number, no comment, no reviewer's name.
    const ok = await verify({ ref, code });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      status: 'VALID',
      kind: 'APPROVAL_FORM',
      revokedAt: null,
      facts: {
        title: '学生学籍异动审批表',
        applicationType: '转学',
        studentName: '王**堃',
        fromSchool: '遵义市红花岗区第一小学',
        toSchool: '南江县实验小学',
        statusAtIssue: '审批通过',
        issuedBy: '南江县实验小学',
      },
    });
    expect(ok.body.facts.decisions.map((d: { org: string }) => d.org)).toEqual(steps.map((s) => s.org.name));
    const json = JSON.stringify(ok.body);
    expect(json).not.toContain(NAME);
    expect(json).not.toContain(pupil.idNumber!.slice(6, 14));
    expect(json).not.toContain('同意 ');
    expect(json).not.toContain('RECEIVING_SCHOOL 同意');
    // Typed as people type it: lower case, dashes, spaces, O for 0.
    const typed = await verify({
      ref: `${ref.slice(0, 4)}-${ref.slice(4)}`.toLowerCase(),
      code: ` ${code.toLowerCase()} `,
    });
    expect(typed.status).toBe(200);
  });

  test('every case prints a form (one in review too), parties only: another school gets 404', async () => {
    const filed = await as(stack, 'nj.s1').post('/api/applications', {
      type: 'SUSPEND',
      studentNo: WANG,
      reason: '因病休养',
      reasonCode: '01',
      effectiveDate: SOON,
      details: { expectedReturnDate: new Date(Date.now() + 90 * 86_400_000).toISOString().slice(0, 10) },
    });
    expect(filed.status).toBe(201);
    const res = await pdf('nj.s1', `/api/applications/${filed.body.id}/form.pdf`);
    expect(res.status).toBe(200);
    const text = pdfText(res.body as Buffer);
    expect(text).toContain('休学');
    expect(text).toContain('审核中');
    expect((await pdf('hhg.s2', `/api/applications/${filed.body.id}/form.pdf`)).status).toBe(404);
    // No letter for anything but an approved transfer.
    expect((await pdf('nj.s1', `/api/applications/${filed.body.id}/letter.pdf`)).status).toBe(409);
  });
});

describe('转学联系函 (letter.pdf)', () => {
  test('for the approved transfer: addressed to the sending school, signed by the receiving one, with its own code', async () => {
    const res = await pdf('nj.s1', `/api/applications/${transferId}/letter.pdf`);
    expect(res.status).toBe(200);
    const bytes = res.body as Buffer;
    const text = pdfText(bytes);
    expect(text).toContain('转学联系函');
    expect(text).toContain('遵义市红花岗区第一小学：');
    expect(text).toContain(NAME);
    expect(text.replace(/\s+/g, '')).toContain('一个月内将该生的学籍档案转至我校');
    for (const org of ['南江县实验小学', '南江县教育局', '红花岗区教育局']) expect(text).toContain(org);
    const { ref, code } = credentialsOf(bytes);
    pdfPagePng(bytes, 110, path.join(__dirname, '..', 'test-artifacts', 'pdf', 'letter-transfer.png'));
    const ok = await verify({ ref, code });
    expect(ok.body).toMatchObject({ status: 'VALID', kind: 'TRANSFER_LETTER', facts: { title: '转学联系函' } });
    const list = await as(stack, 'nj.s1').get(`/api/applications/${transferId}/documents`);
    expect(list.body.items.map((d: { ref: string }) => d.ref)).toContain(ref);
    const audit = await stack.prisma.auditEvent.findMany({ where: { action: 'document.issue', entityId: ref } });
    expect(audit).toHaveLength(1);
  });
});

describe('the public verification page', () => {
  let ref: string;
  let code: string;
  beforeAll(async () => {
    ({ ref, code } = credentialsOf((await pdf('hhg.s1', `/api/applications/${transferId}/form.pdf`)).body as Buffer));
  });

  test('answers every wrong input alike: unknown reference, wrong code, malformed, missing', async () => {
    const wrongCode = code.slice(0, 9) + (code[9] === '2' ? '3' : '2');
    const answers = await Promise.all(
      [
        { ref, code: wrongCode },
        { ref: 'ZZZZZZZZ', code },
        { ref: '12', code: 'x' },
        { ref: 5, code: null },
        {},
        { ref: `${ref}0`, code },
      ].map((b) => verify(b)),
    );
    const shapes = answers.map((a) => ({
      status: a.status,
      type: a.body.type,
      detail: a.body.detail,
      errors: a.body.errors,
    }));
    expect(new Set(shapes.map((s) => JSON.stringify(s))).size).toBe(1);
    expect(shapes[0]).toMatchObject({
      status: 404,
      detail: expect.stringContaining('没有找到与此编号和核验码相符的文件'),
    });
    expect(shapes[0].errors).toBeUndefined();
  });

  test('every request is logged in its own table (not the audit chain), with the outcome', async () => {
    const before = await stack.prisma.auditEvent.count();
    await verify({ ref, code }, '198.51.100.9');
    await verify({ ref, code: 'AAAAAAAAAA' }, '198.51.100.9');
    const rows = await stack.prisma.publicAccessLog.findMany({ where: { ip: '198.51.100.9' }, orderBy: { id: 'asc' } });
    expect(rows.map((r) => [r.endpoint, r.ref, r.outcome])).toEqual([
      ['document.verify', ref, 'VALID'],
      ['document.verify', ref, 'NO_MATCH'],
    ]);
    expect(rows[0].subjectId).not.toBeNull();
    expect(JSON.stringify(rows.map((r) => ({ ...r, id: String(r.id) })))).not.toContain('AAAAAAAAAA');
    expect(await stack.prisma.auditEvent.count()).toBe(before);
  });

  test('throttled per address (limit 3 here): the 4th try from one address is 429, and nobody is locked out', async () => {
    const app = stack.appWith({ publicLimit: 3 });
    const ip = '192.0.2.44';
    for (let i = 0; i < 3; i++) expect((await verify({ ref, code: 'BBBBBBBBBB' }, ip, app)).status).toBe(404);
    const throttled = await verify({ ref, code }, ip, app);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    // The same document, from another address, still verifies: throttling never locks a document or a family out.
    expect((await verify({ ref, code }, '192.0.2.45', app)).status).toBe(200);
    expect(await stack.prisma.publicAccessLog.count({ where: { ip, outcome: 'THROTTLED' } })).toBe(1);
  });

  test('an administrator revokes a document (reason required, audited); the page then says it was revoked', async () => {
    expect(
      (await as(stack, 'nj.s1').post(`/api/admin/documents/${ref}/revoke`, { reason: '学校名称打印有误' })).status,
    ).toBe(403);
    const bad = await as(stack, 'admin').post(`/api/admin/documents/${ref}/revoke`, { reason: '' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('reason');
    const done = await as(stack, 'admin').post(`/api/admin/documents/${ref}/revoke`, { reason: '学校名称打印有误' });
    expect(done.status).toBe(200);
    expect(done.body.revokedAt).not.toBeNull();
    expect(
      (await as(stack, 'admin').post(`/api/admin/documents/${ref}/revoke`, { reason: '学校名称打印有误' })).status,
    ).toBe(409);
    const after = await verify({ ref, code });
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ status: 'REVOKED', revokedAt: expect.any(String) });
    expect(JSON.stringify(after.body)).not.toContain('学校名称打印有误');
    const [event] = await stack.prisma.auditEvent.findMany({ where: { action: 'document.revoke', entityId: ref } });
    expect(event.details).toMatchObject({ reason: '学校名称打印有误' });
  });
});
