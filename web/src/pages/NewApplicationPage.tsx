import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useForm } from 'react-hook-form';
import { useNavigate } from 'react-router';
import { api, ApiError, ok, type Schemas } from '../api/client';
import {
  CHANGE_TYPE_LABELS,
  CHANGE_TYPES,
  GENDER_LABELS,
  specOf,
  STUDENT_STATUS_LABELS,
  wordingOf,
  type ChangeType,
} from '../api/labels';
import { useSession } from '../auth';
import { DetailsFields, detailPaths, detailsFor } from '../components/DetailsFields';
import { applyProblem, CharCounter, ErrorSummary, Field, limitRule, useDraft } from '../components/forms';
import { SchoolPicker } from '../components/SchoolPicker';
import { uploadProof } from './CasePage';

type Pupil = Schemas['StudentSummary'];
type Lookup = Schemas['StudentLookupResult'];

interface Values {
  type: ChangeType;
  schoolCode: string;
  name: string;
  /** The pupil picked from the lookup (masked 学籍号 and a label), kept with the draft. */
  picked: { studentNo: string; label: string; openCase?: string | null } | null;
  studentNo: string;
  effectiveDate: string;
  reasonCode: string;
  reason: string;
  details: Record<string, string>;
}

const today = () => new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);

/** Does the full 学籍号 typed from the family's papers fit the masked one of the pupil picked? */
export function fitsMask(typed: string, masked: string): boolean {
  const t = typed.trim().toUpperCase();
  return t.length === masked.length && [...masked].every((c, i) => c === '*' || c === t[i]);
}

// Outside the school's reach (another school's pupil) the API gives no birth date.
const pupilLabel = (p: Pupil) =>
  `${p.name}（${GENDER_LABELS[p.gender]}，${p.birthDate ? `${p.birthDate} 生，` : ''}${p.grade} 年级，${STUDENT_STATUS_LABELS[p.status]}）· ${p.schoolName}` +
  (p.openCase ? ` · ${p.openCase.label}` : '') +
  (p.reversedChange ? ` · ${p.reversedChange.label}` : '');

const MATCH_LABELS = { LOOK_ALIKE: '形近字', SAME_TONE: '同音字', SAME_SOUND: '音近字' } as const;

/**
 * Filing a case: find the pupil by school and name — with the near-match suggestions when a look-alike
 * character was typed — confirm the 学籍号 from the family's papers, give date, reason and the type's own
 * fields, and attach proof. What is typed is kept as a draft until it is filed.
 */
export function NewApplicationPage() {
  const { user } = useSession();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const form = useForm<Values>({
    defaultValues: {
      type: 'TRANSFER',
      schoolCode: '',
      name: '',
      picked: null,
      studentNo: '',
      effectiveDate: today(),
      reasonCode: '',
      reason: '',
      details: {},
    },
  });
  const draft = useDraft('new-application', form);
  const { register, watch, setValue, formState } = form;
  const { errors, isSubmitting } = formState;
  const [summary, setSummary] = useState<string[]>([]);
  const [lookup, setLookup] = useState<Lookup | null>(null);
  const [searching, setSearching] = useState(false);
  const [file, setFile] = useState<File | null>(null);
  // eslint-disable-next-line react-hooks/incompatible-library -- react-hook-form's watch is meant to re-render here
  const type = watch('type');
  const picked = watch('picked');
  // Who files this type: the receiving school (a transfer: the pupil is at another school) or the pupil's own.
  const receiving = specOf(type).applicant === 'receivingSchool';
  const wording = wordingOf(type);
  const reasonCodes = useQuery({
    queryKey: ['reason-codes'],
    queryFn: () => ok(api.GET('/api/reason-codes')),
    staleTime: 3_600_000,
  });
  const codes = reasonCodes.data?.[type] ?? [];
  const schoolCode = watch('schoolCode');
  // The picker is no input of its own: registered here for its rule, set by the picker.
  register('schoolCode', { required: '请选择学生现在就读的学校' });

  useEffect(() => {
    document.title = '新建申请 · 学籍异动';
  }, []);
  // Other changes are for the clerk's own pupils; a transfer brings a pupil from another school.
  useEffect(() => {
    if (!receiving && user?.orgCode) setValue('schoolCode', user.orgCode);
  }, [receiving, user?.orgCode, setValue]);

  const search = async (name = form.getValues('name')) => {
    const schoolCode = form.getValues('schoolCode');
    form.clearErrors(['schoolCode', 'name']);
    let bad = false;
    if (!schoolCode) {
      form.setError('schoolCode', { message: '请选择学生现在就读的学校' }, { shouldFocus: true });
      bad = true;
    }
    if (!name.trim()) {
      form.setError('name', { message: '请填写学生姓名' }, { shouldFocus: !bad });
      bad = true;
    }
    if (bad) return;
    setSearching(true);
    setValue('picked', null);
    try {
      const res = await ok(api.GET('/api/students', { params: { query: { schoolCode, name: name.trim() } } }));
      setLookup(res);
      if (res.items.length === 1) pick(res.items[0]);
    } catch (e) {
      setSummary(applyProblem(e, form, ['schoolCode', 'name']));
    } finally {
      setSearching(false);
    }
  };

  const pick = (p: Pupil) => {
    setValue('picked', { studentNo: p.studentNo, label: pupilLabel(p), openCase: p.openCase?.label ?? null });
    setValue('name', p.name);
    form.clearErrors(['studentNo', 'name']);
  };

  const submit = form.handleSubmit(async (v) => {
    setSummary([]);
    if (v.picked?.openCase) {
      form.setError('name', { message: `该学生${v.picked.openCase}，办结或撤销前不能再申请` }, { shouldFocus: true });
      return;
    }
    // The typed 学籍号 is checked against the pupil picked (a wrong one is counted: 10 an hour per user).
    let studentNo: string;
    try {
      const matched = await ok(
        api.POST('/api/students/match', {
          body: { schoolCode: v.schoolCode, name: v.name.trim(), studentNo: v.studentNo.trim().toUpperCase() },
        }),
      );
      studentNo = matched.studentNo;
    } catch (e) {
      setSummary(applyProblem(e, form, ['studentNo', 'schoolCode', 'name'], { 404: 'studentNo', 429: 'studentNo' }));
      return;
    }
    let id: number;
    try {
      const created = await ok(
        api.POST('/api/applications', {
          body: {
            type: v.type,
            studentNo,
            reason: v.reason.trim(),
            reasonCode: v.reasonCode || undefined,
            effectiveDate: v.effectiveDate,
            details: detailsFor(v.type, v.details),
          },
        }),
      );
      id = created.id;
      // The family's query code, shown once on the case page as a receipt to print (then gone from the browser).
      sessionStorage.setItem('xueji.guardianAccess', JSON.stringify({ id, access: created.guardianAccess }));
    } catch (e) {
      setSummary(
        applyProblem(e, form, ['type', 'studentNo', 'reasonCode', 'reason', 'effectiveDate', ...detailPaths(v.type)], {
          404: 'studentNo',
        }),
      );
      return;
    }
    draft.clear();
    await queryClient.invalidateQueries({ queryKey: ['tasks'] });
    let notice = `申请已保存（编号 ${id}）。请把家长查询回执交给家长，核对后点“学校审核通过，上报”。`;
    if (file) {
      try {
        await uploadProof(id, file);
      } catch (e) {
        notice += ` 证明材料未能上传：${e instanceof ApiError ? e.detail : String(e)}，请在本页重新上传。`;
      }
    }
    sessionStorage.setItem('xueji.notice', notice);
    void navigate(`/applications/${id}`);
  });

  return (
    <section className="form-page">
      <h1>新建异动申请</h1>
      {draft.hadDraft && <p className="notice">已恢复上次未提交的内容。</p>}
      <form onSubmit={submit} noValidate>
        <ErrorSummary messages={summary} />
        <fieldset>
          <legend>1. 异动类型</legend>
          <Field label="异动类型" required error={errors.type?.message}>
            {({ id, describedBy }) => (
              <select id={id} aria-describedby={describedBy} {...register('type')}>
                {CHANGE_TYPES.map((t) => (
                  <option key={t} value={t}>
                    {CHANGE_TYPE_LABELS[t]}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {wording.filingHint && <p className="hint">{wording.filingHint}</p>}
        </fieldset>

        <fieldset>
          <legend>2. 查找学生</legend>
          <Field label={wording.schoolPicker} required error={errors.schoolCode?.message}>
            {({ id, describedBy, invalid }) =>
              receiving ? (
                <SchoolPicker
                  id={id}
                  value={schoolCode}
                  describedBy={describedBy}
                  invalid={invalid}
                  exclude={user?.orgCode ?? undefined}
                  onChange={(code) => {
                    setValue('schoolCode', code, { shouldValidate: true });
                    setValue('picked', null);
                    setLookup(null);
                  }}
                />
              ) : (
                <input id={id} readOnly value={user?.orgName ?? ''} aria-describedby={describedBy} />
              )
            }
          </Field>
          <Field
            label="学生姓名"
            required
            error={errors.name?.message}
            hint="按学籍上的姓名填写；找不到时系统会提示形近字、同音字相近的姓名。"
          >
            {({ id, describedBy, invalid }) => (
              <div className="inline">
                <input
                  id={id}
                  autoComplete="off"
                  aria-invalid={invalid}
                  aria-describedby={describedBy}
                  {...register('name', {
                    validate: (v) =>
                      !v.trim() ? '请填写学生姓名' : form.getValues('picked') ? true : '请先点“查找”，选定学生',
                  })}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter') {
                      e.preventDefault();
                      void search();
                    }
                  }}
                />
                <button type="button" className="secondary" onClick={() => void search()} disabled={searching}>
                  {searching ? '正在查找…' : '查找'}
                </button>
              </div>
            )}
          </Field>
          {lookup && !picked && (
            <div className="lookup" role="status" aria-live="polite">
              {lookup.items.length > 1 && (
                <>
                  <p>该校有 {lookup.items.length} 名同名学生，请根据出生日期等选择：</p>
                  <ul className="choices">
                    {lookup.items.map((p) => (
                      <li key={p.studentNo}>
                        <button type="button" className="choice" onClick={() => pick(p)}>
                          {pupilLabel(p)} <span className="muted">{p.studentNo}</span>
                        </button>
                      </li>
                    ))}
                  </ul>
                </>
              )}
              {lookup.items.length === 0 && (
                <>
                  <p className="warn-text">{lookup.hint ?? '没有找到该学生。'}</p>
                  {lookup.suggestions && lookup.suggestions.length > 0 && (
                    <ul className="choices" aria-label="姓名相近的学生">
                      {lookup.suggestions.map((p) => (
                        <li key={p.studentNo}>
                          <button type="button" className="choice" onClick={() => pick(p)}>
                            是 <strong>{p.name}</strong> 吗？
                            {p.match && <span className="badge">{MATCH_LABELS[p.match]}</span>} {pupilLabel(p)}{' '}
                            <span className="muted">{p.studentNo}</span>
                          </button>
                        </li>
                      ))}
                    </ul>
                  )}
                </>
              )}
            </div>
          )}
          {picked && (
            <p className={picked.openCase ? 'picked warn' : 'picked'} role="status">
              已选定：{picked.label} <span className="muted">{picked.studentNo}</span>{' '}
              {picked.openCase && (
                <strong className="warn-text">该学生{picked.openCase}，办结或撤销前不能再申请。</strong>
              )}{' '}
              <button type="button" className="link" onClick={() => setValue('picked', null)}>
                重新选择
              </button>
            </p>
          )}
          <Field
            label="全国学籍号"
            required
            error={errors.studentNo?.message}
            hint="按家长提供的证件填写完整学籍号（G 加 18 位身份证号，或 L 开头的临时学籍号）；系统只显示部分号码，以免泄露。"
          >
            {({ id, describedBy, invalid }) => (
              <input
                id={id}
                autoComplete="off"
                spellCheck={false}
                inputMode="text"
                maxLength={19}
                aria-invalid={invalid}
                aria-describedby={describedBy}
                {...register('studentNo', {
                  validate: (v) => {
                    const t = v.trim();
                    if (!t) return '请填写学籍号';
                    const p = form.getValues('picked');
                    if (p && !fitsMask(t, p.studentNo)) return `与所选学生的学籍号（${p.studentNo}）不符，请核对证件`;
                    return true;
                  },
                })}
              />
            )}
          </Field>
        </fieldset>

        <fieldset>
          <legend>3. 异动信息</legend>
          <Field label="异动日期" required error={errors.effectiveDate?.message} hint="应在今天前后一年之内。">
            {({ id, describedBy, invalid }) => (
              <input
                id={id}
                type="date"
                aria-invalid={invalid}
                aria-describedby={describedBy}
                {...register('effectiveDate', { required: '请填写异动日期' })}
              />
            )}
          </Field>
          <Field label="异动原因" required error={errors.reasonCode?.message}>
            {({ id, describedBy, invalid }) => (
              <select
                id={id}
                aria-invalid={invalid}
                aria-describedby={describedBy}
                {...register('reasonCode', { validate: (v) => !codes.length || !!v || '请选择异动原因' })}
              >
                <option value="">{reasonCodes.isPending ? '正在加载…' : '请选择'}</option>
                {codes.map((c) => (
                  <option key={c.code} value={c.code}>
                    {c.code} {c.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field
            label="原因说明"
            required
            error={errors.reason?.message}
            hint={<CharCounter form={form} name="reason" max={500} />}
          >
            {({ id, describedBy, invalid }) => (
              <textarea
                id={id}
                rows={3}
                aria-invalid={invalid}
                aria-describedby={describedBy}
                {...register('reason', limitRule('原因说明', 500, '请填写原因说明'))}
              />
            )}
          </Field>
          <DetailsFields type={type} register={register} errors={errors} />
          <Field label="证明材料（可选，PDF、JPG 或 PNG，不超过 10 MB）" hint={wording.proofHint ?? undefined}>
            {({ id, describedBy }) => (
              <input
                id={id}
                type="file"
                accept="application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png"
                aria-describedby={describedBy}
                onChange={(e) => setFile(e.target.files?.[0] ?? null)}
              />
            )}
          </Field>
        </fieldset>
        <div className="form-buttons">
          <button type="submit" className="primary" disabled={isSubmitting}>
            {isSubmitting ? '正在保存…' : '保存申请'}
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              form.reset();
              draft.clear();
              setLookup(null);
            }}
          >
            清空
          </button>
        </div>
      </form>
    </section>
  );
}
