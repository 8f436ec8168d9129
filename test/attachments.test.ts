import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { cleanFileName } from '../api/routes/attachments';
import { as, decideAs, fileTransfer, LI, startStack, uid, ZHANG, type TestStack } from './support/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const MB10 = 10 * 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// Test files are made here, each with random bytes after a magic number so no two tests share a blob.
const pdf = (size = 2048) => Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(size - 9)]);
const png = () => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(512)]);
const jpeg = () => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(512)]);
const exe = () => Buffer.concat([Buffer.from('MZ\x90\x00', 'latin1'), randomBytes(512)]);
const zip = () => Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), randomBytes(512)]);
const text = () => Buffer.from(`这不是 PDF，只是文字 ${uid()}\n`);

/** The directory the stack's app stores attachments in (see startStack). */
const attachmentsDir = () => path.join(process.env.TEST_WORK_DIR!, `attachments-${stack.taskQueue}`);
/** Everything under attachmentsDir, relative paths, sorted; [] before the first upload. */
const listDir = (): string[] =>
  fs.existsSync(attachmentsDir())
    ? (fs.readdirSync(attachmentsDir(), { recursive: true }) as string[]).map((p) => p.split(path.sep).join('/')).sort()
    : [];

let nextPupil = 0;
/** A cross-county transfer into 南江县实验小学 for a generated pupil of 红花岗区第二小学; its id. */
async function openCase(): Promise<number> {
  const rows = await stack.prisma.student.findMany({
    where: { schoolCode: '5203020002', status: 'ENROLLED', studentNo: { notIn: [ZHANG, LI] } },
    orderBy: { studentNo: 'asc' },
  });
  const res = await fileTransfer(stack, 'nj.s1', rows[nextPupil++ % rows.length].studentNo);
  expect(res.status).toBe(201);
  return res.body.id;
}

interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer | string;
}

/**
 * A multipart/form-data body written byte for byte, so a test controls exactly the file name on the
 * wire (supertest's form-data would take the basename itself) and the Content-Type a client claims.
 */
function multipart(parts: Part[]) {
  const boundary = `----xueji-${uid()}${uid()}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const filename = p.filename === undefined ? '' : `; filename="${p.filename}"`;
    const type = p.contentType ? `Content-Type: ${p.contentType}\r\n` : '';
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${filename}\r\n${type}\r\n`),
    );
    chunks.push(Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

async function post(user: string, id: number, parts: Part[]) {
  const { body, type } = multipart(parts);
  return request(stack.app)
    .post(`/api/applications/${id}/attachments`)
    .set('Authorization', `Bearer ${await stack.login(user)}`)
    .set('Content-Type', type)
    .send(body);
}

/** Uploads one file in the field `file`, claiming it is a PDF unless told otherwise. */
const upload = (user: string, id: number, data: Buffer, filename = '转学证明.pdf', contentType = 'application/pdf') =>
  post(user, id, [{ name: 'file', filename, contentType, data }]);

/** Downloads an attachment, collecting the body as bytes whatever its type. */
async function download(user: string, id: number, attachmentId: number) {
  return request(stack.app)
    .get(`/api/applications/${id}/attachments/${attachmentId}`)
    .set('Authorization', `Bearer ${await stack.login(user)}`)
    .buffer(true)
    .parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    });
}

const list = (user: string, id: number) => as(stack, user).get(`/api/applications/${id}/attachments`);

/** Attachment rows and files on disk: what a refused upload must leave unchanged. */
const stored = async () => ({ rows: await stack.prisma.attachment.count(), files: listDir() });

function expectProblem(res: request.Response, status: number, detail: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, detail, errors: [{ path: 'file' }] });
}

describe('proof documents of a case', () => {
  test('a PDF uploaded by the applicant is listed, kept under its hash and downloads byte-identical', async () => {
    const id = await openCase();
    const bytes = pdf(50_000);
    const res = await upload('nj.s1', id, bytes, '转学证明.pdf');
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(Number),
      fileName: '转学证明.pdf',
      contentType: 'application/pdf',
      size: bytes.length,
      sha256: sha256(bytes),
      uploadedBy: '南江实验小学学籍管理员',
      createdAt: expect.any(String),
    });
    expect(res.headers.location).toBe(`/api/applications/${id}/attachments/${res.body.id}`);
    const hash = sha256(bytes);
    expect(fs.readFileSync(path.join(attachmentsDir(), hash.slice(0, 2), hash)).equals(bytes)).toBe(true);

    const listed = await list('nj.s1', id);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ items: [res.body] });

    const got = await download('nj.s1', id, res.body.id);
    expect(got.status).toBe(200);
    expect(Buffer.isBuffer(got.body) && got.body.equals(bytes)).toBe(true);
    expect(got.headers['content-type']).toBe('application/pdf');
    expect(got.headers['content-length']).toBe(String(bytes.length));
    expect(got.headers['content-disposition']).toBe(
      `attachment; filename*=UTF-8''${encodeURIComponent('转学证明.pdf')}`,
    );
    expect(got.headers['x-content-type-options']).toBe('nosniff');
  });

  test('the receiving county sees them; a school that is no party, or not yet reached, gets 404', async () => {
    const id = await openCase();
    const bytes = pdf();
    const att = (await upload('nj.s1', id, bytes)).body.id as number;

    expect((await list('nj.edu', id)).body.items.map((a: { id: number }) => a.id)).toEqual([att]);
    const byCounty = await download('nj.edu', id, att);
    expect(byCounty.status).toBe(200);
    expect(byCounty.body.equals(bytes)).toBe(true);

    // nj.s2 is no party; 红花岗区第二小学, the sending school, is not reached yet.
    for (const outsider of ['nj.s2', 'hhg.s2']) {
      expect((await list(outsider, id)).status).toBe(404);
      expect((await download(outsider, id, att)).status).toBe(404);
      expect((await upload(outsider, id, pdf())).status).toBe(404);
    }

    // Once its stage is reached the sending school sees the case, and may add its own proof.
    expect((await decideAs(stack, 'nj.s1', id, 'RECEIVING_SCHOOL')).status).toBe(200);
    expect((await decideAs(stack, 'nj.edu', id, 'RECEIVING_COUNTY')).status).toBe(200);
    expect((await list('hhg.s2', id)).body.items).toHaveLength(1);
    const fromSender = await upload('hhg.s2', id, jpeg(), '学籍卡.jpg', 'image/jpeg');
    expect(fromSender.status).toBe(201);
    expect(fromSender.body).toMatchObject({ contentType: 'image/jpeg', uploadedBy: '红花岗二小学籍管理员' });
    expect((await list('nj.s1', id)).body.items).toHaveLength(2);
  });

  test('an attachment is downloaded only through its own case', async () => {
    const [a, b] = [await openCase(), await openCase()];
    const onB = (await upload('nj.s1', b, pdf())).body.id as number;
    expect((await download('nj.s1', a, onB)).status).toBe(404);
    expect((await download('nj.s1', b, onB)).status).toBe(200);
    expect((await download('nj.s1', b, onB + 1000)).status).toBe(404);
    expect((await download('nj.s1', b, 'x' as unknown as number)).status).toBe(400);
  });

  test('the type is read from the bytes: a PNG named evil.pdf is stored and served as image/png', async () => {
    const id = await openCase();
    const bytes = png();
    const res = await upload('nj.s1', id, bytes, 'evil.pdf', 'application/pdf');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ fileName: 'evil.pdf', contentType: 'image/png' });
    const got = await download('nj.s1', id, res.body.id);
    expect(got.headers['content-type']).toBe('image/png');
    expect(got.body.equals(bytes)).toBe(true);
  });

  test.each([
    ['an EXE', exe],
    ['a ZIP', zip],
    ['plain text', text],
    ['an empty file', () => Buffer.alloc(0)],
  ])('%s named x.pdf is refused 415 and nothing is stored', async (_what, make) => {
    const id = await openCase();
    await upload('nj.s1', id, pdf()); // so the directory exists and has something to compare
    const before = await stored();
    const res = await upload('nj.s1', id, make(), 'x.pdf', 'application/pdf');
    expectProblem(res, 415, '只接受 PDF、JPEG 或 PNG 文件');
    expect(res.body.type).toBe('/problems/unsupported-media-type');
    expect(await stored()).toEqual(before);
  });

  test('a large file of the wrong type is refused from its first bytes, the rest of the body drained', async () => {
    const id = await openCase();
    const before = await stored();
    const big = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(MB10 + 100)]);
    expectProblem(await upload('nj.s1', id, big, 'x.pdf'), 415, '只接受 PDF、JPEG 或 PNG 文件');
    expect(await stored()).toEqual(before);
  });

  test('10 MB + 1 byte is refused 413 with nothing stored; exactly 10 MB is accepted', async () => {
    const id = await openCase();
    await upload('nj.s1', id, pdf());
    const before = await stored();
    const tooBig = pdf(MB10 + 1);
    expectProblem(await upload('nj.s1', id, tooBig), 413, '文件不能超过 10 MB');
    expect(await stored()).toEqual(before);
    expect(listDir().some((f) => f.includes('.upload-'))).toBe(false);

    const exact = pdf(MB10);
    const res = await upload('nj.s1', id, exact);
    expect(res.status).toBe(201);
    expect(res.body.size).toBe(MB10);
    expect((await download('nj.s1', id, res.body.id)).body.equals(exact)).toBe(true);
  });

  test('a name with a path is stored under a clean name, and the bytes land inside attachmentsDir', async () => {
    const id = await openCase();
    const names: [string, string][] = [
      ['../../etc/passwd.pdf', 'passwd.pdf'],
      ['..\\\\..\\\\a.pdf', 'a.pdf'], // backslashes escaped, as RFC 7578's quoted-string has them
      ['..\\..\\b.pdf', 'b.pdf'], // and raw, as browsers send them
      ['C:\\\\Users\\\\张老师\\\\证明.pdf', '证明.pdf'],
      ['...', '附件'],
      ['证明\u202Efdp.exe', '证明fdp.exe'],
    ];
    for (const [raw, clean] of names) {
      const res = await upload('nj.s1', id, pdf(), raw);
      expect(res.status).toBe(201);
      expect(res.body.fileName).toBe(clean);
    }
    const files = listDir().filter((f) => !fs.statSync(path.join(attachmentsDir(), f)).isDirectory());
    expect(files.length).toBeGreaterThanOrEqual(names.length);
    for (const f of files) expect(f).toMatch(/^[0-9a-f]{2}\/[0-9a-f]{64}$/);
    for (const escaped of ['passwd.pdf', 'a.pdf', 'b.pdf', '../passwd.pdf', '../a.pdf']) {
      expect(fs.existsSync(path.resolve(attachmentsDir(), escaped))).toBe(false);
    }
  });

  test('a file name is cut to 200 characters, keeping its extension', () => {
    expect(cleanFileName(`${'证'.repeat(300)}.pdf`)).toBe(`${'证'.repeat(196)}.pdf`);
    expect(Array.from(cleanFileName('😀'.repeat(250)))).toHaveLength(200);
    expect(cleanFileName(undefined)).toBe('附件');
    expect(cleanFileName('a\u0000b\u001f.pdf')).toBe('ab.pdf');
  });

  test('the same bytes twice on a case make one row; on another case they share one file', async () => {
    const [id, other] = [await openCase(), await openCase()];
    const bytes = pdf();
    const first = await upload('nj.s1', id, bytes, '证明一.pdf');
    expect(first.status).toBe(201);
    const again = await upload('nj.s1', id, bytes, '证明二.pdf');
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await stack.prisma.attachment.count({ where: { applicationId: id } })).toBe(1);

    const elsewhere = await upload('nj.s1', other, bytes, '证明二.pdf');
    expect(elsewhere.status).toBe(201);
    expect(elsewhere.body.id).not.toBe(first.body.id);
    const hash = sha256(bytes);
    expect(listDir().filter((f) => f.endsWith(hash))).toEqual([`${hash.slice(0, 2)}/${hash}`]);
  });

  test('the same bytes sent twice at once still make one row', async () => {
    const id = await openCase();
    const bytes = pdf(200_000);
    const [a, b] = await Promise.all([upload('nj.s1', id, bytes), upload('nj.s1', id, bytes)]);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    expect(a.body.id).toBe(b.body.id);
    expect(await stack.prisma.attachment.count({ where: { applicationId: id } })).toBe(1);
  });

  test('a closed (withdrawn) case takes no more attachments: 409, and its list still reads', async () => {
    const id = await openCase();
    await upload('nj.s1', id, pdf());
    const withdrawn = await as(stack, 'nj.s1').post(`/api/applications/${id}/withdraw`, { reason: '家长改变主意' });
    expect(withdrawn.status).toBe(200);
    const before = await stored();
    const res = await upload('nj.s1', id, pdf());
    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.detail).toBe('该业务已办结，不能再上传附件');
    expect(await stored()).toEqual(before);
    expect((await list('nj.s1', id)).body.items).toHaveLength(1);
  });

  test('a request without a file in the field `file` is refused 400 naming it', async () => {
    const id = await openCase();
    const cases = [
      await as(stack, 'nj.s1').post(`/api/applications/${id}/attachments`, { file: 'x' }),
      await post('nj.s1', id, [{ name: 'file', data: 'not a file' }]),
      await post('nj.s1', id, [{ name: 'doc', filename: 'a.pdf', contentType: 'application/pdf', data: pdf() }]),
      await post('nj.s1', id, [
        { name: 'file', filename: 'a.pdf', data: pdf() },
        { name: 'file', filename: 'b.pdf', data: pdf() },
      ]),
    ];
    for (const res of cases) {
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['file']);
    }
    expect(await stack.prisma.attachment.count({ where: { applicationId: id } })).toBe(0);
  });

  test('a malformed multipart body is a 400, not a 500', async () => {
    const id = await openCase();
    const res = await request(stack.app)
      .post(`/api/applications/${id}/attachments`)
      .set('Authorization', `Bearer ${await stack.login('nj.s1')}`)
      .set('Content-Type', 'multipart/form-data; boundary=abc')
      .send(
        Buffer.from('--abc\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.7 trunc'),
      );
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  test('the three paths are in the OpenAPI document', async () => {
    const doc = (await request(stack.app).get('/api/openapi.json')).body;
    const upload = doc.paths['/api/applications/{id}/attachments'].post;
    expect(Object.keys(upload.requestBody.content)).toEqual(['multipart/form-data']);
    expect(Object.keys(upload.responses)).toEqual(
      expect.arrayContaining(['200', '201', '400', '404', '409', '413', '415']),
    );
    expect(doc.paths['/api/applications/{id}/attachments'].get.responses['200']).toBeDefined();
    const dl = doc.paths['/api/applications/{id}/attachments/{attachmentId}'].get;
    expect(Object.keys(dl.responses['200'].content)).toEqual(['application/pdf', 'image/jpeg', 'image/png']);
  });
});
