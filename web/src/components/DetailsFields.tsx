import type { FieldErrors, FieldValues, Path, UseFormRegister } from 'react-hook-form';
import type { ChangeType } from '../api/labels';
import { Field } from './forms';

/** The fields each change type needs beyond reason and date (as api/schemas/applications.ts checks them). */
export const DETAIL_FIELDS: Record<
  ChangeType,
  { name: string; label: string; type: 'date' | 'text'; required: boolean }[]
> = {
  TRANSFER: [],
  SUSPEND: [{ name: 'expectedReturnDate', label: '预计复学日期', type: 'date', required: true }],
  RESUME: [],
  REPEAT_GRADE: [],
  SKIP_GRADE: [],
  DROP_OUT: [{ name: 'lastAttendanceDate', label: '最后到校日期', type: 'date', required: false }],
  STUDY_ABROAD: [
    { name: 'destination', label: '前往国家或地区', type: 'text', required: true },
    { name: 'expectedReturnDate', label: '预计回国日期', type: 'date', required: false },
  ],
  DECEASED: [{ name: 'deathDate', label: '死亡日期', type: 'date', required: true }],
};

export const detailPaths = (type: ChangeType) => DETAIL_FIELDS[type].map((f) => `details.${f.name}`);

/** Only the fields of this type, with empty optional ones left out. */
export function detailsFor(type: ChangeType, values: Record<string, string | undefined> | undefined) {
  const out: Record<string, string> = {};
  for (const f of DETAIL_FIELDS[type]) {
    const v = values?.[f.name]?.trim();
    if (v) out[f.name] = v;
  }
  return out;
}

export function DetailsFields<T extends FieldValues>(props: {
  type: ChangeType;
  register: UseFormRegister<T>;
  errors: FieldErrors<T>;
}) {
  const errs = (props.errors as { details?: Record<string, { message?: string }> }).details;
  return (
    <>
      {DETAIL_FIELDS[props.type].map((f) => (
        <Field key={f.name} label={f.label} required={f.required} error={errs?.[f.name]?.message}>
          {({ id, describedBy, invalid }) => (
            <input
              id={id}
              type={f.type}
              aria-invalid={invalid}
              aria-describedby={describedBy}
              {...props.register(`details.${f.name}` as Path<T>, {
                required: f.required ? `请填写${f.label}` : false,
              })}
            />
          )}
        </Field>
      ))}
    </>
  );
}
