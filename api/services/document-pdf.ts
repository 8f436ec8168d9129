// The printed papers: 学籍异动审批表 and 转学联系函, A4 PDFs rendered on the server.
//
// pdfkit (MIT, the most used PDF writer for Node) lays the text out with fontkit and embeds only the glyphs a
// document uses, so a 10 MB font becomes a subset of a few dozen kilobytes inside each PDF, and Chinese prints the
// same on any computer, with or without Chinese fonts. The font is Noto Sans SC (SIL Open Font License), taken from
// the npm package @expo-google-fonts/noto-sans-sc at install time rather than committed: 30,898 glyphs, every
// character of GB 18030's basic set, names outside GB 2312 (喆, 玥, 堃) included. The QR code is drawn as vector
// squares from the `qrcode` package's matrix: sharp at any printer resolution, no image library needed.

import fs from 'node:fs';
import path from 'node:path';
import type PDFKitDocument from 'pdfkit';
import type QRCodeModule from 'qrcode';

const FONT_DIR = path.dirname(require.resolve('@expo-google-fonts/noto-sans-sc/package.json'));
export const FONT_FILES = {
  regular: path.join(FONT_DIR, '400Regular', 'NotoSansSC_400Regular.ttf'),
  bold: path.join(FONT_DIR, '700Bold', 'NotoSansSC_700Bold.ttf'),
};

/** What a printed document says. Everything already in words: the renderer knows no codes. */
export interface PrintedDocument {
  kind: 'APPROVAL_FORM' | 'TRANSFER_LETTER';
  title: string;
  /** 业务编号 42 · 打印 2026-12-01 10:05 */
  subtitle: string;
  /** Key–value rows of the case (学生姓名 …), two pairs to a line where they fit. */
  facts: [string, string][];
  /** The letter's body paragraphs (联系函), before the decisions. */
  letter?: { to: string; paragraphs: string[]; from: string; date: string };
  decisions: { stage: string; org: string; result: string; actor: string; date: string; comment: string }[];
  /** A line under the decisions: where the case stands. */
  status: string;
  verification: { url: string; ref: string; code: string; verifyPage: string; issuedAt: string };
}

const A4 = { width: 595.28, height: 841.89 };
const MARGIN = 50;
const WIDTH = A4.width - 2 * MARGIN;
const LINE = '#333333';

/** The font files, read once: each document then subsets from memory. */
let fontBytes: { regular: Buffer; bold: Buffer } | null = null;
const fonts = () =>
  (fontBytes ??= { regular: fs.readFileSync(FONT_FILES.regular), bold: fs.readFileSync(FONT_FILES.bold) });

/**
 * pdfkit (with fontkit) and qrcode, loaded on the first document printed: about 5 MB of heap and 25 MB of resident
 * memory that a process which prints nothing does not carry (README "Performance", memory).
 */
let printing: { PDFDocument: typeof PDFKitDocument; QRCode: typeof QRCodeModule } | undefined;
const loadPrinting = async () =>
  (printing ??= { PDFDocument: (await import('pdfkit')).default, QRCode: (await import('qrcode')).default });
/** The modules loadPrinting() loaded: only a document being rendered draws. */
const loaded = () => {
  if (!printing) throw new Error('pdfkit and qrcode are loaded by renderDocumentPdf first');
  return printing;
};

/** Renders the document as an A4 PDF. */
export async function renderDocumentPdf(d: PrintedDocument): Promise<Buffer> {
  const { PDFDocument } = await loadPrinting();
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: MARGIN, bottom: MARGIN, left: MARGIN, right: MARGIN },
    info: { Title: d.title, Subject: d.subtitle, Creator: '学籍异动系统', Producer: '学籍异动系统' },
    lang: 'zh-CN',
    displayTitle: true,
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.registerFont('regular', fonts().regular);
  doc.registerFont('bold', fonts().bold);

  doc.font('bold').fontSize(20).text(d.title, MARGIN, MARGIN, { width: WIDTH, align: 'center' });
  doc.moveDown(0.3);
  doc.font('regular').fontSize(9.5).fillColor('#555555').text(d.subtitle, { width: WIDTH, align: 'center' });
  doc.fillColor('black').moveDown(1);

  if (d.letter) {
    doc.font('regular').fontSize(12).text(`${d.letter.to}：`, MARGIN, doc.y, { width: WIDTH });
    doc.moveDown(0.4);
    for (const p of d.letter.paragraphs) {
      doc.text(p, MARGIN, doc.y, { width: WIDTH, indent: 24, lineGap: 4 });
      doc.moveDown(0.4);
    }
    doc.moveDown(0.6);
    doc.text(d.letter.from, MARGIN, doc.y, { width: WIDTH, align: 'right' });
    doc.text(d.letter.date, MARGIN, doc.y, { width: WIDTH, align: 'right' });
    doc.moveDown(1);
  }

  // A letter says the facts in its text; the form lists them.
  if (!d.letter) {
    factsTable(doc, d.facts);
    doc.moveDown(0.8);
  }
  doc.font('bold').fontSize(12).text('审核记录', MARGIN, doc.y);
  doc.moveDown(0.3);
  table(
    doc,
    ['环节', '审核单位', '结果', '审核人', '日期', '意见'],
    [0.18, 0.23, 0.07, 0.19, 0.13, 0.2],
    d.decisions.map((x) => [x.stage, x.org, x.result, x.actor, x.date, x.comment]),
  );
  doc.moveDown(0.5);
  doc.font('regular').fontSize(10.5).text(d.status, MARGIN, doc.y, { width: WIDTH });

  await verificationBox(doc, d.verification);
  doc.end();
  return done;
}

/** Label/value pairs, two to a row, in a bordered grid. */
function factsTable(doc: PDFKit.PDFDocument, facts: [string, string][]) {
  const rows: string[][] = [];
  for (let i = 0; i < facts.length; i += 2) {
    const [a, b] = [facts[i], facts[i + 1]];
    rows.push([a[0], a[1], b?.[0] ?? '', b?.[1] ?? '']);
  }
  table(doc, null, [0.14, 0.36, 0.14, 0.36], rows, { labelColumns: [0, 2] });
}

/** A bordered table that wraps its cells' text and starts a new page when a row does not fit. */
function table(
  doc: PDFKit.PDFDocument,
  header: string[] | null,
  fractions: number[],
  rows: string[][],
  opts: { labelColumns?: number[] } = {},
) {
  const widths = fractions.map((f) => f * WIDTH);
  const pad = 4;
  const size = 9.5;
  const drawRow = (cells: string[], bold: boolean, shaded: boolean[]) => {
    doc.font(bold ? 'bold' : 'regular').fontSize(size);
    const height =
      Math.max(...cells.map((c, i) => doc.heightOfString(c || ' ', { width: widths[i] - 2 * pad }))) + 2 * pad;
    if (doc.y + height > A4.height - MARGIN - 10) doc.addPage();
    const y = doc.y;
    let x = MARGIN;
    cells.forEach((c, i) => {
      if (shaded[i]) doc.rect(x, y, widths[i], height).fill('#f0f0f0').fillColor('black');
      doc.rect(x, y, widths[i], height).lineWidth(0.6).strokeColor(LINE).stroke();
      doc
        .font(bold || shaded[i] ? 'bold' : 'regular')
        .fontSize(size)
        .text(c, x + pad, y + pad, { width: widths[i] - 2 * pad });
      x += widths[i];
    });
    doc.x = MARGIN;
    doc.y = y + height;
  };
  if (header)
    drawRow(
      header,
      true,
      header.map(() => true),
    );
  const labels = new Set(opts.labelColumns ?? []);
  for (const r of rows)
    drawRow(
      r,
      false,
      r.map((_, i) => labels.has(i)),
    );
}

/** The QR code and the reference and code to type, at the foot of the last page. */
async function verificationBox(doc: PDFKit.PDFDocument, v: PrintedDocument['verification']) {
  const box = 118;
  if (doc.y + box + 20 > A4.height - MARGIN) doc.addPage();
  const y = Math.max(doc.y + 16, A4.height - MARGIN - box);
  doc.rect(MARGIN, y, WIDTH, box).lineWidth(0.6).strokeColor(LINE).stroke();
  drawQr(doc, v.url, MARGIN + 9, y + 9, box - 18);
  const x = MARGIN + box + 6;
  const w = WIDTH - box - 14;
  doc
    .font('bold')
    .fontSize(11)
    .text('防伪核验', x, y + 10, { width: w });
  doc.font('regular').fontSize(9.5);
  doc.text(`文件编号：${v.ref}        核验码：${v.code}`, x, doc.y + 3, { width: w });
  doc.text(`出具时间：${v.issuedAt}`, x, doc.y + 2, { width: w });
  doc.text(
    `用手机扫描左侧二维码，或打开 ${v.verifyPage} 输入文件编号和核验码，可查验本文件是否由本系统出具、是否已作废。`,
    x,
    doc.y + 2,
    { width: w, lineGap: 1 },
  );
}

/** A QR code as filled squares (error correction M: survives a fold or a stain). */
function drawQr(doc: PDFKit.PDFDocument, text: string, x: number, y: number, size: number) {
  const qr = loaded().QRCode.create(text, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const quiet = 2;
  const cell = size / (n + 2 * quiet);
  doc.rect(x, y, size, size).fill('white');
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (qr.modules.get(r, c)) doc.rect(x + (c + quiet) * cell, y + (r + quiet) * cell, cell, cell);
    }
  }
  doc.fill('black');
}
