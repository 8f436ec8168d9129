import zlib from 'node:zlib';
import type ExcelJS from 'exceljs';
import { CsvError, parse as parseCsv } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { badRequest, payloadTooLarge, unsupportedMediaType } from './errors';

// Reads an uploaded table (CSV or .xlsx) into rows of cells, telling them apart by content, never by
// the file name. What the rows mean is the importer's business (services/imports.ts).

/** A cell: text, or a number as Excel stored it (an 18-digit ID number stored as a number has lost digits). */
export type Cell = string | number;

/** One non-empty row with its number as the spreadsheet program shows it (the header is usually 1). */
export interface SheetRow {
  row: number;
  cells: Cell[];
}

export interface Sheet {
  format: 'csv' | 'xlsx';
  /** CSV only: how the bytes were read. Excel on Chinese Windows saves "CSV" as GBK (GB 18030). */
  encoding?: 'utf-8' | 'gb18030';
  rows: SheetRow[];
}

/**
 * exceljs, loaded on the first workbook read or written: about 8 MB of heap and 30 MB of resident memory that a
 * process which never touches a workbook does not carry (README "Performance", memory).
 */
export const loadExcelJS = async (): Promise<typeof ExcelJS> => (await import('exceljs')).default;

const ZIP = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const OLE = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]); // .xls, .doc (Office 97–2003)
/**
 * What an .xlsx may unpack to at most: 64 MB, or 2 kB a row when more rows are allowed — far beyond any real sheet of
 * that many rows (a 20 000-row pupil list unpacks to about 10 MB), far below a zip bomb.
 */
export const unpackLimit = (maxRows: number) => Math.max(64 * 1024 * 1024, maxRows * 2048);

const SAVE_AS = '请在 Excel 中“另存为” .xlsx 或“CSV UTF-8（逗号分隔）”后重新上传';

export type UnpackedSize =
  { ok: true; bytes: number } | { ok: false; reason: 'too-large' | 'unreadable'; bytes: number };

/**
 * The bytes an .xlsx (a ZIP) really unpacks to, counted while inflating each entry and stopping as soon as `limit` is
 * passed — never trusting the sizes the archive declares (a 300 kB file may claim 1 kB and inflate to 300 MB).
 * Reads the entries as JSZip (inside exceljs) will: from the central directory, the data after each local header, of
 * the declared compressed length. Nothing inflated is kept.
 */
export async function unpackedSize(buf: Buffer, limit: number): Promise<UnpackedSize> {
  const EOCD = 0x06054b50;
  const CDH = 0x02014b50;
  const LFH = 0x04034b50;
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return { ok: false, reason: 'unreadable', bytes: 0 };
  const entries = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  let total = 0;
  for (let n = 0; n < entries; n++) {
    if (at + 46 > buf.length || buf.readUInt32LE(at) !== CDH) return { ok: false, reason: 'unreadable', bytes: total };
    const method = buf.readUInt16LE(at + 10);
    const compressed = buf.readUInt32LE(at + 20);
    const local = buf.readUInt32LE(at + 42);
    at += 46 + buf.readUInt16LE(at + 28) + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
    if (compressed === 0xffffffff || local === 0xffffffff) return { ok: false, reason: 'too-large', bytes: total }; // ZIP64
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== LFH)
      return { ok: false, reason: 'unreadable', bytes: total };
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, Math.min(buf.length, start + compressed));
    if (method === 0) total += data.length;
    else if (method === 8) {
      const inflated = await inflatedBytes(data, limit - total);
      total += inflated.bytes;
      if (!inflated.ok) return { ok: false, reason: inflated.reason, bytes: total };
    } else return { ok: false, reason: 'unreadable', bytes: total };
    if (total > limit) return { ok: false, reason: 'too-large', bytes: total };
  }
  return { ok: true, bytes: total };
}

/** Inflates raw DEFLATE data, counting and dropping the output; stops (destroying the stream) past `limit`. */
function inflatedBytes(
  data: Buffer,
  limit: number,
): Promise<{ ok: true; bytes: number } | { ok: false; reason: 'too-large' | 'unreadable'; bytes: number }> {
  return new Promise((resolve) => {
    const inflate = zlib.createInflateRaw({ chunkSize: 64 * 1024 });
    let bytes = 0;
    let done = false;
    const finish = (r: Awaited<ReturnType<typeof inflatedBytes>>) => {
      if (done) return;
      done = true;
      inflate.destroy();
      resolve(r);
    };
    inflate.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > limit) finish({ ok: false, reason: 'too-large', bytes });
    });
    inflate.on('error', () => finish({ ok: false, reason: 'unreadable', bytes }));
    inflate.on('end', () => finish({ ok: true, bytes }));
    inflate.end(data);
  });
}

function cellOf(v: ExcelJS.CellValue): Cell {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'boolean') return String(v);
  // Date cells come back as UTC midnight of the day shown.
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? '' : v.toISOString().slice(0, 10);
  if ('richText' in v) return v.richText.map((t) => t.text).join('');
  if ('formula' in v || 'sharedFormula' in v) return cellOf((v as ExcelJS.CellFormulaValue).result ?? null);
  if ('text' in v && typeof v.text === 'string') return v.text;
  return ''; // error values (#N/A …)
}

const isBlank = (cells: Cell[]) => cells.every((c) => c === '' || (typeof c === 'string' && !c.trim()));

async function readXlsx(buf: Buffer, maxRows: number, fileName: string): Promise<SheetRow[]> {
  const limit = unpackLimit(maxRows);
  const unpacked = await unpackedSize(buf, limit);
  if (!unpacked.ok && unpacked.reason === 'unreadable') {
    throw badRequest(`无法读取该 Excel 文件（文件已损坏？）。${SAVE_AS}`, [{ path: 'file', message: '文件已损坏' }]);
  }
  if (!unpacked.ok) {
    const mb = Math.floor(limit / 1024 / 1024);
    const message = `“${fileName}”解压后超过 ${mb} MB，不像是正常的学籍表格，未读取`;
    throw payloadTooLarge(`${message}；请分批导入或另存为 CSV`, [{ path: 'file', message }]);
  }
  const wb = new (await loadExcelJS()).Workbook();
  try {
    await wb.xlsx.load(buf as unknown as Parameters<typeof wb.xlsx.load>[0]);
  } catch {
    throw badRequest(`无法读取该 Excel 文件（不是 .xlsx 格式或已损坏）。${SAVE_AS}`);
  }
  const sheet = wb.worksheets.find((ws) => ws.actualRowCount > 0);
  if (!sheet) throw badRequest('Excel 文件中没有数据');
  const rows: SheetRow[] = [];
  sheet.eachRow({ includeEmpty: false }, (row, rowNumber) => {
    const values = Array.isArray(row.values) ? row.values : [];
    const cells = Array.from({ length: Math.max(0, values.length - 1) }, (_, i) => cellOf(values[i + 1]));
    if (!isBlank(cells)) rows.push({ row: rowNumber, cells });
  });
  return rows;
}

function decodeText(buf: Buffer): { text: string; encoding: 'utf-8' | 'gb18030' } {
  try {
    // fatal: invalid UTF-8 throws instead of turning into U+FFFD; a UTF-8 BOM is dropped.
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(buf), encoding: 'utf-8' };
  } catch {
    // Not UTF-8: the "CSV (逗号分隔)" of Excel on Chinese Windows, in GBK. GB 18030 decodes every GBK file.
    return { text: iconv.decode(buf, 'gb18030'), encoding: 'gb18030' };
  }
}

function readCsv(buf: Buffer): { rows: SheetRow[]; encoding: 'utf-8' | 'gb18030' } {
  const { text, encoding } = decodeText(buf);
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text, {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
    }) as unknown as typeof records;
  } catch (e) {
    if (e instanceof CsvError) {
      const line = (e as CsvError & { lines?: number }).lines;
      throw badRequest(`CSV 文件格式有误${line ? `（第 ${line} 行附近，可能是引号不成对）` : ''}。${SAVE_AS}`);
    }
    throw e;
  }
  const rows: SheetRow[] = [];
  for (const { record, info } of records) {
    if (isBlank(record)) continue;
    // info.lines is the record's last line; a quoted field may span lines, the row starts where it starts.
    const breaks = record.reduce((n, f) => n + (f.match(/\n/g)?.length ?? 0), 0);
    rows.push({ row: info.lines - breaks, cells: record });
  }
  return { rows, encoding };
}

/**
 * The non-empty rows of an uploaded .xlsx (first sheet with data) or CSV. 400 when it cannot be read,
 * 413 over `maxRows` data rows, 415 for another kind of file (an old .xls, a PDF, an image …).
 */
export async function readSheet(buf: Buffer, maxRows: number, fileName = '上传的文件'): Promise<Sheet> {
  if (buf.length === 0) throw badRequest('上传的文件是空的', [{ path: 'file', message: '文件是空的' }]);
  let sheet: Sheet;
  if (buf.subarray(0, 4).equals(ZIP)) {
    sheet = { format: 'xlsx', rows: await readXlsx(buf, maxRows, fileName) };
  } else if (buf.subarray(0, 8).equals(OLE)) {
    throw unsupportedMediaType(`不支持旧版 Excel（.xls）文件。${SAVE_AS}`, [{ path: 'file', message: '旧版 .xls' }]);
  } else if (buf.includes(0)) {
    // Text files have no NUL bytes: a binary file, or UTF-16 ("Unicode 文本").
    throw unsupportedMediaType(`只接受 .xlsx 或 CSV 文件。${SAVE_AS}`, [
      { path: 'file', message: '不是 .xlsx 或 CSV' },
    ]);
  } else {
    const { rows, encoding } = readCsv(buf);
    sheet = { format: 'csv', encoding, rows };
  }
  if (sheet.rows.length - 1 > maxRows) {
    throw payloadTooLarge(`一次最多导入 ${maxRows} 行，此文件有 ${sheet.rows.length - 1} 行，请分批导入`, [
      { path: 'file', message: `超过 ${maxRows} 行` },
    ]);
  }
  return sheet;
}

/** A column the importer knows: its Chinese label (for messages), the headers that name it, its longest cell. */
export interface ColumnSpec {
  label: string;
  headers: string[];
  required: boolean;
  /** Characters; a longer cell is refused in the row's report. */
  max: number;
}

/** Headers compared without case, spaces, '*' marks or parenthesised notes: "身份证号（必填）" is 身份证号. */
const normaliseHeader = (h: Cell) =>
  String(h)
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\([^)]*\)/g, '')
    .replace(/[\s_*:-]/g, '');

/**
 * Finds the header row (the first of the first ten rows naming at least two known columns, so a title
 * row above it is skipped) and where each known column is. 400 naming the missing required columns,
 * or a column given twice. Unknown columns (序号, 备注 …) are ignored.
 */
export function locateColumns<F extends string>(
  rows: SheetRow[],
  spec: Record<F, ColumnSpec>,
): { columns: Partial<Record<F, number>>; data: SheetRow[] } {
  const fields = Object.keys(spec) as F[];
  const lookup = new Map<string, F>();
  for (const f of fields) for (const h of [f, ...spec[f].headers]) lookup.set(normaliseHeader(h), f);
  const known = (r: SheetRow) => new Set(r.cells.map((c) => lookup.get(normaliseHeader(c))).filter(Boolean)).size;
  const headerAt = rows.slice(0, 10).findIndex((r) => known(r) >= 2);
  const expected = fields
    .filter((f) => spec[f].required)
    .map((f) => `${spec[f].label}（${f}）`)
    .join('、');
  if (headerAt < 0) throw badRequest(`找不到表头行。第一行应为列名，至少包括：${expected}`);
  const columns: Partial<Record<F, number>> = {};
  for (const [i, c] of rows[headerAt].cells.entries()) {
    const f = lookup.get(normaliseHeader(c));
    if (!f) continue;
    if (columns[f] !== undefined) throw badRequest(`表头中“${spec[f].label}”列出现了两次`);
    columns[f] = i;
  }
  const missing = fields.filter((f) => spec[f].required && columns[f] === undefined);
  if (missing.length) {
    const names = missing.map((f) => `${spec[f].label}（${f}）`).join('、');
    throw badRequest(
      `缺少必需的列：${names}`,
      missing.map((f) => ({ path: f, message: `缺少“${spec[f].label}”列` })),
    );
  }
  return { columns, data: rows.slice(headerAt + 1) };
}

/**
 * A value as every spreadsheet export writes it: text that a spreadsheet program would read as a formula (starting
 * with =, +, -, @, a tab or a carriage return — "CSV injection", also when an .xlsx is later saved as CSV) gets a
 * leading apostrophe, so it is shown and stays as text. Numbers, dates and empty cells are unchanged.
 */
export function exportCell<T>(value: T): T | string {
  return typeof value === 'string' && /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** One row of an export: every cell through exportCell. The one way exports add rows. */
export function addExportRow(ws: ExcelJS.Worksheet, values: readonly unknown[]): ExcelJS.Row {
  return ws.addRow(values.map(exportCell));
}
