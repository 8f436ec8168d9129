import { useEffect, useState } from 'react';
import QRCode from 'qrcode';
import { api, ApiError, ok, type Application, type Schemas } from '../api/client';
import { CHANGE_TYPE_LABELS, formatDay, specOf } from '../api/labels';

export type GuardianAccess = Schemas['GuardianAccess'];
type Prediction = Schemas['Prediction'];

const LEVEL_TEXT: Record<Prediction['level'], string> = {
  ORG: '依据各办理单位近 12 个月的办理时长',
  COUNTY: '有的办理单位近 12 个月办理不足 20 件，借用本县同类单位的办理时长',
  PROVINCE: '有的办理单位和所在县办理不足 20 件，借用本省同类单位的办理时长',
  PRIOR: '有的办理单位尚无办理记录，按 0–10 个工作日估计',
};

/** 预计办结: the p50 and p80 dates, what they rest on, and the early warning against the stage's due date. */
export function PredictionPanel({ a }: { a: Application }) {
  const p = a.prediction;
  if (!p) return null;
  const step = a.steps.find((s) => s.stage === a.currentStage && !s.decidedAt);
  const due = step?.dueAt ? formatDay(step.dueAt) : null;
  const late = !a.overdue && due !== null && p.currentStage.p50 > due;
  return (
    <section className="prediction" aria-labelledby="prediction-title">
      <h2 id="prediction-title">预计办结</h2>
      <p>
        <strong>{p.p50}</strong> 前后办结的可能性约一半，<strong>{p.p80}</strong> 前办结的可能性约八成。
      </p>
      <p className="muted small">
        当前环节已用 {p.elapsedWorkingDays} 个工作日，预计 {p.currentStage.p50} 办完。{LEVEL_TEXT[p.level]}。
      </p>
      {late && (
        <p className="badge overdue" role="status">
          预计超期：当前环节预计办完日期晚于办理期限 {due}
        </p>
      )}
    </section>
  );
}

/** The family's receipt (回执): the reference and query code, a QR code of the page's link, ready to print. */
export function GuardianReceipt({ a, access }: { a: Application; access: GuardianAccess }) {
  const [qr, setQr] = useState<string | null>(null);
  useEffect(() => {
    void QRCode.toDataURL(access.url, { margin: 1, width: 160 }).then(setQr, () => setQr(null));
  }, [access.url]);
  return (
    <div className="receipt">
      <h3>学籍异动办理回执</h3>
      <dl className="facts">
        <dt>业务</dt>
        <dd>
          {CHANGE_TYPE_LABELS[a.type]}（
          {specOf(a.type).applicant === 'receivingSchool' ? a.toSchool?.name : a.fromSchool.name}受理，
          {formatDay(a.createdAt)}）
        </dd>
        <dt>查询编号</dt>
        <dd className="mono big">{access.ref}</dd>
        <dt>查询码</dt>
        <dd className="mono big">{access.code}</dd>
      </dl>
      {qr && <img src={qr} alt="查询页二维码" width={160} height={160} />}
      <p className="small">
        用手机扫描二维码，或打开 {access.queryPage} 输入查询编号和查询码，即可随时查看办理到哪一步、由哪个单位办理、
        预计何时办结，无需登录、无需跑腿。请妥善保管查询码；遗失可请学校重新生成。
      </p>
    </div>
  );
}

/**
 * The receipt on the case page, above everything else, with the print button; the code is shown this once. Not a
 * modal: the clerk may go on with the case (学校审核) and print when the family is at the desk.
 */
export function ReceiptPanel(props: { a: Application; access: GuardianAccess; onClose: () => void }) {
  return (
    <section className="notice receipt-panel" aria-labelledby="receipt-title">
      <h2 id="receipt-title">家长查询回执（查询码只显示这一次，请打印或抄给家长）</h2>
      <GuardianReceipt a={props.a} access={props.access} />
      <p className="actions">
        <button type="button" className="primary" onClick={() => window.print()}>
          打印回执
        </button>
        <button type="button" className="secondary" onClick={props.onClose}>
          已交给家长，收起
        </button>
      </p>
    </section>
  );
}

/** For the applicant school (and administrators): a new query code when the family lost its receipt. */
export function ReissueQueryCode({ a }: { a: Application }) {
  const [access, setAccess] = useState<GuardianAccess | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reissue = async () => {
    if (!window.confirm('重新生成查询码后，原查询码立即失效。继续吗？')) return;
    setError(null);
    try {
      setAccess(await ok(api.POST('/api/applications/{id}/query-code', { params: { path: { id: a.id } } })));
    } catch (e) {
      setError(e instanceof ApiError ? e.detail : String(e));
    }
  };
  return (
    <>
      <p>
        <button type="button" className="secondary" onClick={() => void reissue()}>
          重新生成家长查询码
        </button>
        {error && <span className="late"> {error}</span>}
      </p>
      {access && <ReceiptPanel a={a} access={access} onClose={() => setAccess(null)} />}
    </>
  );
}
