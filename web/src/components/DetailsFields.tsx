import type { FieldErrors, FieldValues, Path, UseFormRegister } from 'react-hook-form';
import { specOf, type ChangeType } from '../api/labels';
import { Field } from './forms';

/** The fields each change type needs beyond reason and date: its spec's (domain/change-types/), as the API checks them. */
const fieldsOf = (type: ChangeType) => specOf(type).fields;

export const detailPaths = (type: ChangeType) => fieldsOf(type).map((f) => `details.${f.name}`);

/** Only the fields of this type, with empty optional ones left out. */
export function detailsFor(type: ChangeType, values: Record<string, string | undefined> | undefined) {
  const out: Record<string, string> = {};
  for (const f of fieldsOf(type)) {
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
      {fieldsOf(props.type).map((f) => (
        <Field key={f.name} label={f.label} required={f.required} error={errs?.[f.name]?.message}>
          {({ id, describedBy, invalid }) => (
            <input
              id={id}
              type={f.kind}
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
