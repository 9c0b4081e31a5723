// Where the server's sign-in page sends the browser back (the redirect URI of the UI's client
// metadata): swaps the code for tokens, then goes where the member was headed. The code leaves
// the address bar at once.

import { html, useState, useEffect } from '../lib/html.js';
import { t } from '../lib/i18n.js';
import { completeSignIn } from '../lib/auth.js';
import { navigate } from '../lib/router.js';
import { ViewHeader, Loading, useTitle } from '../components/ui.js';
import { toast } from '../lib/state.js';
import { safeNext } from './signin.js';
import { WELCOME } from './signup.js';

export default function SignInCallback({ query: search }) {
  useTitle(t('signin.title'));
  const [failed, setFailed] = useState(null);
  useEffect(() => {
    const answer = new URLSearchParams(search);
    history.replaceState(history.state, '', '/signin/callback');
    completeSignIn(answer).then(
      (next) => {
        const welcome = sessionStorage.getItem(WELCOME);
        sessionStorage.removeItem(WELCOME);
        if (welcome) toast(t('signup.welcome', { handle: welcome }));
        navigate(safeNext(next), { replace: true });
      },
      (e) => setFailed(e),
    );
  }, []);
  if (!failed) return html`<div><${ViewHeader} title=${t('signin.title')} /><${Loading} /></div>`;
  const denied = failed.error === 'access_denied';
  return html`<div>
    <${ViewHeader} title=${t('signin.title')} />
    <div class="form-page">
      <p role="alert">${denied ? t('signin.denied') : t('signin.failed')}</p>
      <p><a class="button" href="/signin">${t('signin.again')}</a></p>
    </div>
  </div>`;
}
