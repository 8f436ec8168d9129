import { useEffect, useState } from 'react';
import { useForm } from 'react-hook-form';
import { Link } from 'react-router';
import { api, ok, type Schemas } from '../api/client';
import { useSession } from '../auth';
import { applyProblem, ErrorSummary, Field, useDraft } from '../components/forms';

interface Values {
  name: string;
  gender: 'MALE' | 'FEMALE' | '';
  birthDate: string;
  idNumber: string;
  grade: string;
  className: string;
  noHouseholdRegistration: boolean;
  fatherIdNumber: string;
  motherIdNumber: string;
  guardianIdNumber: string;
}

const FIELDS = [
  'name',
  'gender',
  'birthDate',
  'idNumber',
  'grade',
  'className',
  'noHouseholdRegistration',
  'fatherIdNumber',
  'motherIdNumber',
  'guardianIdNumber',
] as const;

/** 新生建籍: a school clerk registers a pupil at her school; the API checks the identity and warns of duplicates. */
export function RegisterPupilPage() {
  const { user } = useSession();
  const form = useForm<Values>({
    defaultValues: {
      name: '',
      gender: '',
      birthDate: '',
      idNumber: '',
      grade: '1',
      className: '',
      noHouseholdRegistration: false,
      fatherIdNumber: '',
      motherIdNumber: '',
      guardianIdNumber: '',
    },
  });
  const draft = useDraft('register-pupil', form);
  const [summary, setSummary] = useState<string[]>([]);
  const [done, setDone] = useState<Schemas['RegisteredStudent'] | null>(null);
  const { register, formState, watch } = form;
  const { errors, isSubmitting } = formState;
  // eslint-disable-next-line react-hooks/incompatible-library -- react-hook-form's watch is meant to re-render here
  const noHukou = watch('noHouseholdRegistration');
  useEffect(() => {
    document.title = '新生建籍 · 学籍异动';
  }, []);

  const submit = form.handleSubmit(async (v) => {
    setSummary([]);
    try {
      const id = (s: string) => s.trim() || undefined;
      const created = await ok(
        api.POST('/api/students', {
          body: {
            name: v.name.trim(),
            gender: v.gender as 'MALE' | 'FEMALE',
            birthDate: v.birthDate,
            idNumber: v.noHouseholdRegistration ? undefined : id(v.idNumber),
            grade: Number(v.grade),
            className: v.className.trim(),
            noHouseholdRegistration: v.noHouseholdRegistration || undefined,
            fatherIdNumber: v.noHouseholdRegistration ? id(v.fatherIdNumber) : undefined,
            motherIdNumber: v.noHouseholdRegistration ? id(v.motherIdNumber) : undefined,
            guardianIdNumber: v.noHouseholdRegistration ? id(v.guardianIdNumber) : undefined,
          },
        }),
      );
      draft.clear();
      setDone(created);
    } catch (e) {
      setSummary(applyProblem(e, form, FIELDS));
    }
  });

  if (done) {
    return (
      <section className="form-page">
        <h1>新生建籍</h1>
        <p className="notice" role="status">
          已为 {done.name} 建立学籍，学籍号 <span className="mono">{done.studentNo}</span>。
        </p>
        {done.warnings.length > 0 && (
          <div className="error-summary warn" role="alert">
            请核对，可能重复登记：
            <ul>
              {done.warnings.map((w) => (
                <li key={w.studentNo + w.message}>{w.message}</li>
              ))}
            </ul>
          </div>
        )}
        <p className="form-buttons">
          <Link className="button-link primary" to={`/pupils/${done.ref}`}>
            查看学籍
          </Link>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              form.reset();
              setDone(null);
            }}
          >
            继续登记
          </button>
        </p>
      </section>
    );
  }

  const text = (name: keyof Values, label: string, opts: { type?: string; hint?: string; required?: boolean } = {}) => (
    <Field label={label} required={opts.required} hint={opts.hint} error={errors[name]?.message}>
      {({ id, describedBy, invalid }) => (
        <input
          id={id}
          type={opts.type ?? 'text'}
          autoComplete="off"
          spellCheck={false}
          aria-invalid={invalid}
          aria-describedby={describedBy}
          {...register(name, { required: opts.required ? `请填写${label}` : false })}
        />
      )}
    </Field>
  );

  return (
    <section className="form-page">
      <h1>新生建籍</h1>
      <p className="hint">为 {user?.orgName} 登记学生。身份证号须与出生日期、性别一致；同一身份证号只能有一个学籍。</p>
      {draft.hadDraft && <p className="notice">已恢复上次未提交的内容。</p>}
      <form onSubmit={submit} noValidate>
        <ErrorSummary messages={summary} />
        <fieldset>
          <legend>学生</legend>
          {text('name', '姓名', { required: true, hint: '按户口簿填写；少数民族姓名可用间隔号“·”。' })}
          <Field label="性别" required error={errors.gender?.message}>
            {({ id, describedBy, invalid }) => (
              <select
                id={id}
                aria-invalid={invalid}
                aria-describedby={describedBy}
                {...register('gender', { required: '请选择性别' })}
              >
                <option value="">请选择</option>
                <option value="MALE">男</option>
                <option value="FEMALE">女</option>
              </select>
            )}
          </Field>
          {text('birthDate', '出生日期', { type: 'date', required: true })}
          <label className="check">
            <input type="checkbox" {...register('noHouseholdRegistration')} />{' '}
            无户籍（没有身份证号，系统生成临时学籍号）
          </label>
          {!noHukou && text('idNumber', '身份证号', { required: true, hint: '18 位，最后一位可能是 X。' })}
          {noHukou && (
            <>
              <p className="hint">无户籍学生须登记父母双方的身份证号，或监护人的身份证号。</p>
              {text('fatherIdNumber', '父亲身份证号')}
              {text('motherIdNumber', '母亲身份证号')}
              {text('guardianIdNumber', '监护人身份证号')}
            </>
          )}
        </fieldset>
        <fieldset>
          <legend>编班</legend>
          <Field label="年级" required error={errors.grade?.message}>
            {({ id, describedBy, invalid }) => (
              <select id={id} aria-invalid={invalid} aria-describedby={describedBy} {...register('grade')}>
                {Array.from({ length: 12 }, (_, i) => (
                  <option key={i + 1} value={String(i + 1)}>
                    {i + 1} 年级
                  </option>
                ))}
              </select>
            )}
          </Field>
          {text('className', '班级', { required: true, hint: '如 1年级2班' })}
        </fieldset>
        <div className="form-buttons">
          <button type="submit" className="primary" disabled={isSubmitting}>
            {isSubmitting ? '正在登记…' : '建立学籍'}
          </button>
        </div>
      </form>
    </section>
  );
}
