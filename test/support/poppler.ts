import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';

/**
 * poppler-utils (pdftotext, pdftoppm) to read back the PDFs we print, installed with apt when missing; if it cannot
 * be, the test fails saying so (never skipped).
 */
export function ensurePoppler() {
  const has = () => spawnSync('pdftotext', ['-v']).status === 0;
  if (has()) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'poppler-utils'], { stdio: 'inherit', env });
  if (install().status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    install();
  }
  if (!has()) throw new Error('These tests need pdftotext/pdftoppm: apt-get install -y poppler-utils (as root)');
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'xueji-pdf-'));

/** The PDF's text as pdftotext reads it (layout kept). */
export function pdfText(pdf: Buffer): string {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'a.pdf'), pdf);
  const r = spawnSync('pdftotext', ['-layout', '-enc', 'UTF-8', path.join(dir, 'a.pdf'), '-'], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`pdftotext failed: ${r.stderr}`);
  return r.stdout;
}

/** Page 1 rendered as PNG (for the QR decoder, and for a person to look at: `keep` names a file to write). */
export function pdfPagePng(pdf: Buffer, dpi = 150, keep?: string): Buffer {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'a.pdf'), pdf);
  const r = spawnSync('pdftoppm', [
    '-r',
    String(dpi),
    '-f',
    '1',
    '-l',
    '1',
    '-png',
    '-singlefile',
    path.join(dir, 'a.pdf'),
    path.join(dir, 'p'),
  ]);
  if (r.status !== 0) throw new Error(`pdftoppm failed: ${r.stderr}`);
  const png = fs.readFileSync(path.join(dir, 'p.png'));
  fs.rmSync(dir, { recursive: true, force: true });
  if (keep) {
    fs.mkdirSync(path.dirname(keep), { recursive: true });
    fs.writeFileSync(keep, png);
  }
  return png;
}

/** The text of the QR code on page 1, decoded from the rendered pixels with jsQR. */
export function decodeQr(pdf: Buffer): string | null {
  const img = PNG.sync.read(pdfPagePng(pdf));
  return jsQR(new Uint8ClampedArray(img.data), img.width, img.height)?.data ?? null;
}
