import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { useWatch, type FieldValues, type Path, type UseFormReturn } from 'react-hook-form';
import { ApiError } from '../api/client';
import { session } from '../api/session';

/**
 * Puts a refused request's messages where the clerk looks: each field the API names gets its message under
 * that field (and the first such field the focus); what belongs to no field of this form is returned for
 * the summary at the top.
 */
export function applyProblem<T extends FieldValues>(
  e: unknown,
  form: UseFormReturn<T>,
  fields: readonly string[],
  /** Extra mapping for problems without a field (status → field), e.g. 404 on filing → studentNo. */
  byStatus: Partial<Record<number, Path<T>>> = {},
): string[] {
  if (!(e instanceof ApiError)) return [String(e instanceof Error ? e.message : e)];
  const rest: string[] = [];
  let focused = false;
  for (const { path, message } of e.errors) {
    if (fields.includes(path)) {
      form.setError(path as Path<T>, { type: 'server', message }, { shouldFocus: !focused });
      focused = true;
    } else rest.push(message);
  }
  const statusField = byStatus[e.status];
  if (statusField && e.errors.length === 0) {
    form.setError(statusField, { type: 'server', message: e.detail }, { shouldFocus: true });
    return [];
  }
  // The API's own words, a 401 included: a wrong password says so (with the attempts left); an expired login
  // opens the sign-in dialog over the page anyway.
  if (e.errors.length === 0 || rest.length > 0) rest.unshift(e.detail);
  return [...new Set(rest)];
}

/** Characters as the API counts them (code points: 𠇔 is one). */
export const charCount = (s: string) => Array.from(s.trim()).length;

/**
 * The rule for a text with a limit: required or not, at most `max` characters. Nothing is cut while typing (a
 * pasted text stays whole); the counter below the field and this message say what is too long.
 */
export const limitRule = (label: string, max: number, required: string | false) => ({
  validate: (v: string) => {
    if (required && !v.trim()) return required;
    const n = charCount(v);
    return n <= max || `${label}最多 ${max} 个字，现为 ${n} 个字，请删减`;
  },
});

/** "123 / 500 字" under a text field of a form; red past the limit. */
export function CharCounter<T extends FieldValues>({
  form,
  name,
  max,
}: {
  form: UseFormReturn<T>;
  name: Path<T>;
  max: number;
}) {
  const value = useWatch({ control: form.control, name }) as string | undefined;
  const n = charCount(value ?? '');
  return (
    <span className={n > max ? 'counter over' : 'counter'} aria-live="polite">
      {n} / {max} 字
    </span>
  );
}

/**
 * Keeps what is typed into a form in sessionStorage (per user and form) and puts it back when the form is
 * opened again — after a reload, or after signing in again when the login ran out mid-form. sessionStorage,
 * not localStorage: a draft may hold a pupil's 学籍号, and it should not outlive the browser tab.
 */
export function useDraft<T extends FieldValues>(name: string, form: UseFormReturn<T>, enabled = true) {
  const user = session.snapshot().user?.username ?? 'anonymous';
  const key = `xueji.draft.${user}.${name}`;
  const restored = useRef(false);
  // Whether there was a draft when the form opened (read once: typing writes one at once).
  const [hadDraft] = useState(() => sessionStorage.getItem(key) !== null);
  useEffect(() => {
    if (!enabled || restored.current) return;
    restored.current = true;
    const raw = sessionStorage.getItem(key);
    if (raw) {
      try {
        form.reset({ ...form.getValues(), ...(JSON.parse(raw) as T) });
      } catch {
        sessionStorage.removeItem(key);
      }
    }
    const sub = form.watch((values) => sessionStorage.setItem(key, JSON.stringify(values)));
    return () => sub.unsubscribe();
  }, [enabled, form, key]);
  return { clear: () => sessionStorage.removeItem(key), hadDraft };
}

/** A labelled field with its hint and its error, wired for screen readers (aria-describedby, aria-invalid). */
export function Field(props: {
  label: string;
  error?: string;
  hint?: ReactNode;
  required?: boolean;
  children: (ids: { id: string; describedBy: string | undefined; invalid: boolean }) => ReactNode;
}) {
  const id = useId();
  const hintId = props.hint ? `${id}-hint` : undefined;
  const errorId = props.error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${props.error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>
        {props.label}
        {props.required && (
          <span className="required" aria-hidden="true">
            {' '}
            *
          </span>
        )}
      </label>
      {props.children({ id, describedBy, invalid: !!props.error })}
      {props.hint && (
        <div className="hint" id={hintId}>
          {props.hint}
        </div>
      )}
      {props.error && (
        <div className="field-error" id={errorId} role="alert">
          {props.error}
        </div>
      )}
    </div>
  );
}

/** Messages that belong to no single field, at the top of the form. */
export function ErrorSummary({ messages }: { messages: string[] }) {
  if (messages.length === 0) return null;
  return (
    <div className="error-summary" role="alert">
      {messages.length === 1 ? (
        messages[0]
      ) : (
        <ul>
          {messages.map((m) => (
            <li key={m}>{m}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/**
 * A form's submit handler that sends the values and, when the API refuses them, puts each problem under its field
 * (the rest in the summary). The shape every dialog of the console shares.
 */
export function useProblemSubmit<T extends FieldValues>(
  form: UseFormReturn<T>,
  fields: readonly string[],
  send: (values: T) => Promise<void>,
) {
  const [summary, setSummary] = useState<string[]>([]);
  const submit = form.handleSubmit(async (values) => {
    setSummary([]);
    try {
      await send(values);
    } catch (e) {
      setSummary(applyProblem(e, form, fields));
    }
  });
  return { submit, summary };
}

/** A dialog's two buttons: the action, and the way back. */
export function DialogButtons(props: {
  label: string;
  danger?: boolean;
  busy: boolean;
  back: string;
  onBack: () => void;
}) {
  return (
    <div className="dialog-buttons">
      <button type="submit" className={props.danger ? 'danger' : 'primary'} disabled={props.busy}>
        {props.label}
      </button>
      <button type="button" className="secondary" onClick={props.onBack}>
        {props.back}
      </button>
    </div>
  );
}
