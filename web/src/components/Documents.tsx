import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ApiError, saveBlob, ok, type Application } from '../api/client';
import { formatTime, movesPupil } from '../api/labels';
import { useSession } from '../auth';
import { ReasonDialog } from './ReasonDialog';

/**
 * Printing a case: 学籍异动审批表 (every case) and 转学联系函 (an approved transfer), PDFs made by the server, each
 * print with its own verification code; the documents issued so far, and for administrators, revoking one.
 */
export function Documents({ a }: { a: Application }) {
  const { user } = useSession();
  const queryClient = useQueryClient();
  const list = useQuery({
    queryKey: ['documents', a.id],
    queryFn: () => ok(api.GET('/api/applications/{id}/documents', { params: { path: { id: a.id } } })),
  });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [revoking, setRevoking] = useState<string | null>(null);
  const print = async (kind: 'form' | 'letter') => {
    setError(null);
    setBusy(true);
    try {
      const path = kind === 'form' ? '/api/applications/{id}/form.pdf' : '/api/applications/{id}/letter.pdf';
      const { data, response } = await api.GET(path, { params: { path: { id: a.id } }, parseAs: 'blob' });
      if (!response.ok || !data) {
        const body = await response.json().catch(() => ({}));
        throw new ApiError(response.status, body);
      }
      saveBlob(data as Blob, `${kind === 'form' ? '学籍异动审批表' : '转学联系函'}-${a.id}.pdf`);
      await queryClient.invalidateQueries({ queryKey: ['documents', a.id] });
    } catch (e) {
      setError(e instanceof ApiError ? e.detail : String(e));
    } finally {
      setBusy(false);
    }
  };
  // The API refuses the letter (409) for a transfer whose reversal (纠错) was approved and for a reversal itself:
  // the pupil did not, in the end, move by it. Say why instead of offering a button that fails.
  const approvedTransfer = movesPupil(a.type) && a.status === 'APPROVED';
  const letterRefused = a.reverses
    ? '本业务为纠错业务，不出具转学联系函。'
    : a.reversal?.status === 'APPROVED'
      ? '该转学已纠错撤销，不能再出具转学联系函。'
      : null;
  const letter = approvedTransfer && !letterRefused;
  return (
    <div className="documents">
      <h3>打印</h3>
      <div className="form-buttons">
        <button type="button" className="secondary" disabled={busy} onClick={() => void print('form')}>
          下载审批表（PDF）
        </button>
        {letter && (
          <button type="button" className="secondary" disabled={busy} onClick={() => void print('letter')}>
            下载转学联系函（PDF）
          </button>
        )}
      </div>
      {approvedTransfer && letterRefused && <p className="hint">{letterRefused}</p>}
      <p className="hint">每份文件印有文件编号、核验码和二维码，任何人可在本系统的“文件核验”页查验真伪。</p>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {list.data && list.data.items.length > 0 && (
        <ul className="plain-list small" aria-label="已出具的文件">
          {list.data.items.map((d) => (
            <li key={d.ref}>
              {d.title} · 编号 <span className="mono">{d.ref}</span> · {d.issuedBy} · {formatTime(d.issuedAt)}
              {d.revokedAt ? (
                <span className="late"> · 已作废（{d.revokeReason}）</span>
              ) : (
                user?.role === 'ADMIN' && (
                  <>
                    {' '}
                    <button type="button" className="link" onClick={() => setRevoking(d.ref)}>
                      作废
                    </button>
                  </>
                )
              )}
            </li>
          ))}
        </ul>
      )}
      {revoking && (
        <ReasonDialog
          title={`作废文件 ${revoking}`}
          warning="作废后，核验页将显示该文件已作废。"
          label="作废原因（至少 5 个字）"
          required="请填写作废原因"
          confirm="确认作废"
          back="返回"
          send={async (reason) => {
            await ok(
              api.POST('/api/admin/documents/{ref}/revoke', { params: { path: { ref: revoking } }, body: { reason } }),
            );
            setRevoking(null);
            await queryClient.invalidateQueries({ queryKey: ['documents', a.id] });
          }}
          onClose={() => setRevoking(null)}
        />
      )}
    </div>
  );
}
