import { useEffect, useRef, useState } from 'react';
import { useForm } from 'react-hook-form';
import { useLocation, useParams } from 'react-router';
import { ApiError } from '../api/client';

/**
 * The form of a public page (no login) that checks a reference and a code: the QR code opens /<page>/<reference>#<code>;
 * the code is read from the fragment (which a browser never sends anywhere) and sent by POST. Opened that way, it
 * checks at once (once) and takes the code out of the address bar.
 */
export function usePublicLookup<R>(title: string, send: (v: { ref: string; code: string }) => Promise<R>) {
  const params = useParams();
  const location = useLocation();
  const form = useForm<{ ref: string; code: string }>({
    defaultValues: { ref: params.ref ?? '', code: location.hash.replace(/^#/, '') },
  });
  const [result, setResult] = useState<R | null>(null);
  const [summary, setSummary] = useState<string[]>([]);
  const sent = useRef(false);
  const check = form.handleSubmit(async (v) => {
    setSummary([]);
    setResult(null);
    try {
      setResult(await send(v));
    } catch (e) {
      setSummary([e instanceof ApiError ? e.detail : String(e)]);
    }
  });
  useEffect(() => {
    document.title = title;
    if (!sent.current && params.ref && location.hash.length > 1) {
      sent.current = true;
      window.history.replaceState(null, '', location.pathname);
      void check();
    }
  }, [title, params.ref, location.hash, location.pathname, check]);
  return { form, result, summary, check };
}
