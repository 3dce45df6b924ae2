import { useEffect } from 'react';

/** Names the browser tab while the page shows; the app's own title comes back when it goes. */
export function useDocumentTitle(title: string | undefined): void {
  useEffect(() => {
    if (title === undefined) return;
    const before = document.title;
    document.title = `${title} — Sluice`;
    return () => {
      document.title = before;
    };
  }, [title]);
}
