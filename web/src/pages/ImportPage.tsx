import { useEffect, useState } from 'react';
import { api, ApiError, ok, type Schemas } from '../api/client';
import { ErrorSummary, Field } from '../components/forms';

type Result = Schemas['ImportResult'];
type Refusal = Schemas['ImportRefusal'];

const FIELD_LABELS: Record<string, string> = {
  name: '姓名',
  idNumber: '身份证号',
  birthDate: '出生日期',
  gender: '性别',
  schoolCode: '学校代码',
  grade: '年级',
  className: '班级',
  code: '单位代码',
  kind: '类型',
  parentCode: '上级单位代码',
  file: '文件',
};

/**
 * Organisation and pupil imports: upload a CSV or .xlsx, check it first if wished (dry run); when any row is
 * refused nothing is imported and the report lists each row, column and reason.
 */
export function ImportPage() {
  const [kind, setKind] = useState<'students' | 'organisations'>('students');
  const [file, setFile] = useState<File | null>(null);
  const [dryRun, setDryRun] = useState(true);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Result | null>(null);
  const [refused, setRefused] = useState<{ detail: string; rows: Refusal[] } | null>(null);
  const [errors, setErrors] = useState<string[]>([]);
  const [fileError, setFileError] = useState<string | undefined>();
  useEffect(() => {
    document.title = '导入 · 学籍异动';
  }, []);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setResult(null);
    setRefused(null);
    setErrors([]);
    setFileError(undefined);
    if (!file) {
      setFileError('请选择要导入的文件');
      return;
    }
    setBusy(true);
    try {
      const path = kind === 'students' ? '/api/admin/imports/students' : '/api/admin/imports/organisations';
      const r = await ok(
        api.POST(path, {
          params: { query: { dryRun: dryRun ? 'true' : 'false' } },
          body: { file: '' },
          bodySerializer: () => {
            const fd = new FormData();
            fd.append('file', file, file.name);
            return fd;
          },
        }),
      );
      setResult(r as Result);
    } catch (err) {
      if (err instanceof ApiError && Array.isArray(err.body.refused)) {
        setRefused({ detail: err.detail, rows: err.body.refused as Refusal[] });
      } else if (err instanceof ApiError && err.errors.some((x) => x.path === 'file')) {
        setFileError(err.detail);
      } else {
        setErrors([err instanceof Error ? err.message : String(err)]);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="form-page">
      <h1>导入单位和学生</h1>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <ErrorSummary messages={errors} />
        <fieldset>
          <legend>导入内容</legend>
          <label className="check">
            <input type="radio" name="kind" checked={kind === 'students'} onChange={() => setKind('students')} />{' '}
            学生（姓名、身份证号、出生日期、性别、学校代码、年级、班级）
          </label>
          <label className="check">
            <input
              type="radio"
              name="kind"
              checked={kind === 'organisations'}
              onChange={() => setKind('organisations')}
            />{' '}
            单位（单位代码、名称、类型、上级单位代码）
          </label>
          {kind === 'organisations' && (
            <p className="hint">
              类型为学校、区县教育局、地市教育局或省教育厅。代码：省 2 位、地市 4 位、区县 6 位（行政区划代码，如
              52、5203、520302），学校 10
              位（学校标识码）。学校须填所属区县教育局的代码；区县和地市的上级可留空，自动取代码前 4 位、前 2
              位的教育局。
            </p>
          )}
        </fieldset>
        <Field label="文件（.xlsx，或 UTF-8 / GBK 编码的 CSV；第一行为表头）" required error={fileError}>
          {({ id, describedBy, invalid }) => (
            <input
              id={id}
              type="file"
              accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
              aria-invalid={invalid}
              aria-describedby={describedBy}
              onChange={(e) => setFile(e.target.files?.[0] ?? null)}
            />
          )}
        </Field>
        <label className="check">
          <input type="checkbox" checked={dryRun} onChange={(e) => setDryRun(e.target.checked)} /> 只检查，不导入
        </label>
        <div className="form-buttons">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? '正在处理…' : dryRun ? '检查' : '导入'}
          </button>
        </div>
      </form>
      {result && (
        <p className="notice" role="status">
          {result.dryRun
            ? `检查通过：${result.valid} 行均无问题，可以取消“只检查”后导入。`
            : `已导入 ${result.imported} 行。`}
        </p>
      )}
      {refused && (
        <div className="report" role="alert">
          <p className="error-summary">{refused.detail}</p>
          <table className="list">
            <caption>有误的行（表头为第 1 行）</caption>
            <thead>
              <tr>
                <th scope="col">行</th>
                <th scope="col">列</th>
                <th scope="col">原因</th>
              </tr>
            </thead>
            <tbody>
              {refused.rows.map((r, i) => (
                <tr key={`${r.row}-${r.field}-${i}`}>
                  <td>{r.row}</td>
                  <td>{FIELD_LABELS[r.field] ?? r.field}</td>
                  <td>{r.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
