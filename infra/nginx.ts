// Our own nginx (Debian's package) in front of the API processes, with its own config, prefix directory and
// unprivileged port: `nginx -c FILE -p DIR`, never the system service. The locations are deploy/nginx's, the same
// file docker-compose.yml mounts.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const ROOT = path.resolve(__dirname, '..');
export const NGINX_LOCATIONS = path.join(ROOT, 'deploy', 'nginx', 'xueji-locations.conf');

/**
 * Writes DIR/nginx.conf: one server on 127.0.0.1:`port` proxying to `upstreams` (host:port), logs and temporary
 * files under DIR, in the foreground (the caller supervises it). Checked with `nginx -t` before it is returned.
 */
export function writeNginxConfig(opts: {
  nginx: string;
  dir: string;
  port: number;
  upstreams: string[];
  /** The local address nginx connects to the upstreams from (the API's TRUST_PROXY), e.g. 127.0.0.2. */
  proxyBind?: string;
}): {
  file: string;
  args: string[];
  accessLog: string;
} {
  const d = opts.dir;
  fs.mkdirSync(path.join(d, 'tmp'), { recursive: true });
  const accessLog = path.join(d, 'access.log');
  const conf = `# Written by infra/nginx.ts
daemon off;
worker_processes 2;
pid ${d}/nginx.pid;
error_log stderr notice;
events { worker_connections 1024; }
http {
    log_format xueji '$remote_addr [$time_iso8601] "$request" $status $body_bytes_sent $request_time '
                     'upstream=$upstream_addr/$upstream_status rid=$request_id';
    access_log ${accessLog} xueji;
    client_body_temp_path ${d}/tmp/body;
    proxy_temp_path ${d}/tmp/proxy;
    fastcgi_temp_path ${d}/tmp/fastcgi;
    uwsgi_temp_path ${d}/tmp/uwsgi;
    scgi_temp_path ${d}/tmp/scgi;
    upstream xueji_api {
${opts.upstreams.map((u) => `        server ${u} max_fails=1 fail_timeout=2s;`).join('\n')}
    }
    server {
        listen 127.0.0.1:${opts.port};${opts.proxyBind ? `\n        proxy_bind ${opts.proxyBind};` : ''}
        include ${NGINX_LOCATIONS};
    }
}
`;
  const file = path.join(d, 'nginx.conf');
  fs.writeFileSync(file, conf);
  const args = ['-c', file, '-p', d];
  const check = spawnSync(opts.nginx, ['-t', ...args], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx -t refused ${file}: ${check.stderr}`);
  return { file, args, accessLog };
}
