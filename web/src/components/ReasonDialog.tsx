import { useForm } from 'react-hook-form';
import { Dialog } from './Dialog';
import { CharCounter, DialogButtons, ErrorSummary, Field, limitRule, useProblemSubmit } from './forms';

/** A confirmation that needs a written reason (withdraw, cancel): one field, sent as `reason`. */
export function ReasonDialog(props: {
  title: string;
  /** What happens, in one sentence. */
  warning: string;
  label: string;
  /** Shown when the reason is left empty. */
  required: string;
  confirm: string;
  back: string;
  send: (reason: string) => Promise<void>;
  onClose: () => void;
}) {
  const form = useForm<{ reason: string }>({ defaultValues: { reason: '' } });
  const { submit, summary } = useProblemSubmit(form, ['reason'], (v) => props.send(v.reason.trim()));
  return (
    <Dialog open title={props.title} onClose={props.onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary messages={summary} />
        <p>{props.warning}</p>
        <Field
          label={props.label}
          required
          error={form.formState.errors.reason?.message}
          hint={<CharCounter form={form} name="reason" max={500} />}
        >
          {({ id, describedBy, invalid }) => (
            <textarea
              id={id}
              rows={3}
              autoFocus
              aria-invalid={invalid}
              aria-describedby={describedBy}
              {...form.register('reason', limitRule(props.label, 500, props.required))}
            />
          )}
        </Field>
        <DialogButtons
          label={props.confirm}
          danger
          busy={form.formState.isSubmitting}
          back={props.back}
          onBack={props.onClose}
        />
      </form>
    </Dialog>
  );
}
