import { useEffect, useRef, type ReactNode } from 'react';

/**
 * A modal dialog on the browser's own <dialog>: focus moves into it and is trapped there, Escape closes
 * it, and focus returns to the button that opened it. Its content is a form, so Enter in a field submits;
 * in a multi-line comment Ctrl+Enter does.
 */
export function Dialog(props: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  wide?: boolean;
  /** false: Escape does not close it (the sign-in after an expired login must be answered). */
  dismissable?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) {
      opener.current = document.activeElement;
      d.showModal();
    } else if (!props.open && d.open) {
      d.close();
    }
  }, [props.open]);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    const onClose = () => {
      (opener.current as HTMLElement | null)?.focus?.();
      props.onClose();
    };
    d.addEventListener('close', onClose);
    return () => d.removeEventListener('close', onClose);
  });
  return (
    <dialog
      ref={ref}
      className={props.wide ? 'dialog wide' : 'dialog'}
      aria-labelledby={props.open ? 'dialog-title' : undefined}
      onCancel={(e) => {
        if (props.dismissable === false) e.preventDefault();
      }}
      onKeyDown={(e) => {
        if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && e.target instanceof HTMLTextAreaElement) {
          e.preventDefault();
          e.target.form?.requestSubmit();
        }
      }}
    >
      {props.open && (
        <>
          <h2 id="dialog-title">{props.title}</h2>
          {props.children}
        </>
      )}
    </dialog>
  );
}
