import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { Navigate, NavLink, Route, Routes, useLocation, useNavigate } from 'react-router';
import { api, ok } from './api/client';
import { areaWord, ROLE_LABELS } from './api/labels';
import { session, type SessionUser } from './api/session';
import { LoginForm, logout, resume, useSession } from './auth';
import { Dialog } from './components/Dialog';
import { CaseRoute } from './pages/CasePage';
import { CasesPage } from './pages/CasesPage';
import { ChangePasswordPage } from './pages/ChangePasswordPage';
import { ImportPage } from './pages/ImportPage';
import { NewApplicationPage } from './pages/NewApplicationPage';
import { StatsPage } from './pages/StatsPage';
import { StuckPage } from './pages/StuckPage';
import { TasksPage } from './pages/TasksPage';
import { UsersPage } from './pages/UsersPage';
import { AuditPage } from './pages/AuditPage';
import { CalendarPage } from './pages/CalendarPage';
import { PublicVerifyPage } from './pages/PublicVerifyPage';
import { PublicProgressPage } from './pages/PublicProgressPage';
import { PupilPage } from './pages/PupilPage';
import { PupilsPage } from './pages/PupilsPage';
import { RegisterPupilPage } from './pages/RegisterPupilPage';

export function App() {
  const location = useLocation();
  // The public pages need no login (DESIGN §5): a parent or another school checks a printed document here.
  if (location.pathname === '/verify' || location.pathname.startsWith('/verify/')) {
    return (
      <Routes>
        <Route path="/verify" element={<PublicVerifyPage />} />
        <Route path="/verify/:ref" element={<PublicVerifyPage />} />
      </Routes>
    );
  }
  // The family's page: where its case is, with the reference and query code from its receipt.
  if (location.pathname === '/progress' || location.pathname.startsWith('/progress/')) {
    return (
      <Routes>
        <Route path="/progress" element={<PublicProgressPage />} />
        <Route path="/progress/:ref" element={<PublicProgressPage />} />
      </Routes>
    );
  }
  return <SignedInApp />;
}

function SignedInApp() {
  const { user, expired } = useSession();
  const [resuming, setResuming] = useState(() => !!user && !session.accessToken());
  useEffect(() => {
    if (resuming) void resume().finally(() => setResuming(false));
  }, [resuming]);

  if (resuming) return <p className="loading">正在恢复登录…</p>;
  if (!user) return <LoginPage />;
  if (user.mustChangePassword && !expired) return <ChangePasswordPage forced />;
  return (
    <>
      <Shell />
      <ExpiredDialog />
    </>
  );
}

function LoginPage() {
  useEffect(() => {
    document.title = '登录 · 学籍异动';
  }, []);
  return (
    <main className="login-page">
      <h1>学籍异动审批</h1>
      <p className="muted">学校学籍管理员、教育局（区县、地市、省）和系统管理员使用</p>
      <LoginForm autoFocus />
    </main>
  );
}

/** The login ran out mid-work: sign in again over the page, so the form underneath keeps what was typed. */
function ExpiredDialog() {
  const { user, expired } = useSession();
  return (
    <Dialog open={expired} title="登录已过期，请重新登录" onClose={() => undefined} dismissable={false}>
      <p>为了安全，登录一段时间后需要重新输入密码。您正在填写的内容已保留，登录后可以继续。</p>
      <LoginForm fixedUser={user?.username} autoFocus />
      <button type="button" className="link" onClick={() => session.signedOut()}>
        换一个账号登录
      </button>
    </Dialog>
  );
}

const NAV = {
  SCHOOL_CLERK: [
    ['/tasks', '待办'],
    ['/applications/new', '新建申请'],
    ['/applications', '本单位业务'],
    ['/pupils', '学籍查询'],
  ],
  COUNTY_OFFICER: [
    ['/tasks', '待办'],
    ['/applications', '本单位业务'],
    ['/pupils', '学籍查询'],
    ['/stats', '统计'],
  ],
  ADMIN: [
    ['/admin/stuck', '在办与超期'],
    ['/stats', '统计'],
    ['/applications', '全部业务'],
    ['/pupils', '学籍查询'],
    ['/admin/users', '用户'],
    ['/admin/audit', '审计'],
    ['/admin/calendar', '工作日历'],
    ['/admin/imports', '导入'],
  ],
} as const;

/** A user's menu: the case list is named after the area the user's organisation answers for (本校/本县/本市/本省业务). */
const navFor = (user: SessionUser): (readonly [string, string])[] =>
  NAV[user.role].map(([to, label]) =>
    to === '/applications' && user.role !== 'ADMIN' ? [to, `${areaWord(user)}业务`] : [to, label],
  );

function Shell() {
  const { user } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const main = useRef<HTMLElement>(null);
  // Below 700 px the menu folds behind one button; a new page folds it again.
  const [menuOn, setMenuOn] = useState<string | null>(null);
  const menuOpen = menuOn === location.pathname;
  const setMenuOpen = (open: boolean) => setMenuOn(open ? location.pathname : null);
  const tasks = useQuery({
    queryKey: ['tasks'],
    queryFn: () => ok(api.GET('/api/tasks')),
    enabled: user?.role !== 'ADMIN',
    refetchInterval: 60_000,
  });
  // A new page: its heading gets the focus, so keyboard and screen-reader users start at the top of it.
  useEffect(() => {
    const h1 = main.current?.querySelector('h1');
    if (h1) {
      h1.setAttribute('tabindex', '-1');
      h1.focus({ preventScroll: false });
    }
  }, [location.pathname]);
  if (!user) return null;
  const home = user.role === 'ADMIN' ? '/admin/stuck' : '/tasks';
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        跳到正文
      </a>
      <header className="topbar">
        <span className="brand">学籍异动</span>
        <button
          type="button"
          className="menu-toggle secondary"
          aria-expanded={menuOpen}
          aria-controls="main-menu"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          {menuOpen ? '收起菜单' : '菜单'}
          {!menuOpen && tasks.data?.total ? <span className="count">{tasks.data.total}</span> : null}
        </button>
        <nav aria-label="主菜单" id="main-menu" className={menuOpen ? 'open' : undefined}>
          {navFor(user).map(([to, label]) => (
            <NavLink key={to} to={to} end>
              {label}
              {to === '/tasks' && tasks.data?.total ? <span className="count">{tasks.data.total}</span> : null}
            </NavLink>
          ))}
        </nav>
        <span className="who">
          {user.displayName}
          <small>{user.orgName ?? ROLE_LABELS[user.role]}</small>
        </span>
        <NavLink to="/password" className="small-link">
          修改密码
        </NavLink>
        <button
          type="button"
          className="link"
          onClick={() => {
            void logout().then(() => navigate('/'));
          }}
        >
          退出
        </button>
      </header>
      <main id="main" ref={main}>
        <Routes>
          <Route path="/" element={<Navigate to={home} replace />} />
          <Route path="/tasks" element={<TasksPage />} />
          <Route path="/applications" element={<CasesPage />} />
          <Route path="/applications/new" element={<NewApplicationPage />} />
          <Route path="/applications/:id" element={<CaseRoute />} />
          <Route path="/admin/stuck" element={<StuckPage />} />
          <Route path="/admin/stats" element={<Navigate to="/stats" replace />} />
          <Route path="/stats" element={<StatsPage />} />
          <Route path="/pupils" element={<PupilsPage />} />
          <Route path="/pupils/new" element={<RegisterPupilPage />} />
          <Route path="/pupils/:ref" element={<PupilPage />} />
          <Route path="/admin/audit" element={<AuditPage />} />
          <Route path="/admin/calendar" element={<CalendarPage />} />
          <Route path="/admin/users" element={<UsersPage />} />
          <Route path="/admin/imports" element={<ImportPage />} />
          <Route path="/password" element={<ChangePasswordPage />} />
          <Route path="/login" element={<Navigate to={home} replace />} />
          <Route path="*" element={<p>没有这个页面。</p>} />
        </Routes>
      </main>
    </div>
  );
}
