// Debian packages a tool needs (nginx, sqlite3, pg_dump, docker-compose): installed with apt-get when the command is
// missing and we are root — the machines this project is tested on allow that — otherwise a clear message saying
// what to install. Nothing else is ever downloaded.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

export function commandPath(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin']) if (fs.existsSync(`${dir}/${cmd}`)) return `${dir}/${cmd}`;
  return null;
}

/** The path of each command, installing its Debian package first where it is missing. */
export function ensureCommands(
  needs: { command: string; aptPackage: string }[],
  log: (m: string) => void = console.log,
): Record<string, string> {
  const missing = needs.filter((n) => !commandPath(n.command));
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((m) => m.aptPackage))];
    if (process.getuid?.() !== 0 || !commandPath('apt-get')) {
      throw new Error(
        `missing: ${missing.map((m) => m.command).join(', ')} — install with: apt-get install ${pkgs.join(' ')}`,
      );
    }
    log(`installing ${pkgs.join(', ')} from Debian (apt-get)…`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () =>
      spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { env, stdio: 'inherit' }).status;
    if (install() !== 0) {
      spawnSync('apt-get', ['update'], { env, stdio: 'inherit' });
      if (install() !== 0) throw new Error(`apt-get install ${pkgs.join(' ')} failed`);
    }
  }
  return Object.fromEntries(
    needs.map((n) => {
      const p = commandPath(n.command);
      if (!p) throw new Error(`${n.command} still missing after installing ${n.aptPackage}`);
      return [n.command, p];
    }),
  );
}
