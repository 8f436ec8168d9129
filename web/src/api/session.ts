import type { components } from '../generated/api';

export type SessionUser = components['schemas']['SessionUser'];
type LoginResponse = components['schemas']['LoginResponse'];

/**
 * Who is signed in, and the tokens. The access token (15 minutes) lives in memory only. The refresh
 * token is kept in sessionStorage: it survives a reload of the tab but not closing it (shared school
 * computers), it is never sent anywhere but /api/auth/refresh, and the CSP allows no script but the
 * console's own. The user (name, role, organisation — no ID numbers) is kept beside it so a reload
 * shows the same page at once.
 */
const REFRESH_KEY = 'xueji.refreshToken';
const USER_KEY = 'xueji.user';

interface State {
  user: SessionUser | null;
  /** The login ran out (refresh refused) while the user was working: the console asks to sign in again. */
  expired: boolean;
}

let accessToken: string | null = null;
let state: State = { user: readUser(), expired: false };
const listeners = new Set<() => void>();

function readUser(): SessionUser | null {
  try {
    const raw = sessionStorage.getItem(USER_KEY);
    return raw ? (JSON.parse(raw) as SessionUser) : null;
  } catch {
    return null;
  }
}

function set(next: Partial<State>) {
  state = { ...state, ...next };
  listeners.forEach((l) => l());
}

export const session = {
  subscribe(listener: () => void) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  snapshot: () => state,
  accessToken: () => accessToken,
  refreshToken: () => sessionStorage.getItem(REFRESH_KEY),

  /** After login or refresh. */
  signedIn(res: LoginResponse) {
    accessToken = res.token;
    sessionStorage.setItem(REFRESH_KEY, res.refreshToken);
    sessionStorage.setItem(USER_KEY, JSON.stringify(res.user));
    set({ user: res.user, expired: false });
  },

  /** The refresh token was refused: keep who it was (for the re-login dialog and the drafts), drop the tokens. */
  expire() {
    accessToken = null;
    sessionStorage.removeItem(REFRESH_KEY);
    if (state.user) set({ expired: true });
  },

  signedOut() {
    accessToken = null;
    sessionStorage.removeItem(REFRESH_KEY);
    sessionStorage.removeItem(USER_KEY);
    set({ user: null, expired: false });
  },

  passwordChanged() {
    if (state.user) {
      const user = { ...state.user, mustChangePassword: false };
      sessionStorage.setItem(USER_KEY, JSON.stringify(user));
      set({ user });
    }
  },
};
