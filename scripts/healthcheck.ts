// The container image's HEALTHCHECK: `node dist/healthcheck/index.js` exits 0 when the service in
// this container answers GET /health with 200, else 1. One image runs any of the four services, so
// it asks PORT when that is set and otherwise each service's default port (only one of them
// listens inside a container). Deliberately tiny (no config parsing): it runs every few seconds.
import { get } from 'node:http';
import { pathToFileURL } from 'node:url';

/** The services' default ports (gateway 4000, users 4001, products 4002, orders 4003); test/deploy.test.ts holds them to the configs. */
export const DEFAULT_PORTS = [4000, 4001, 4002, 4003] as const;
export const HEALTH_PATH = '/health';

const healthy = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port, path: HEALTH_PATH, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const ports = process.env.PORT ? [Number(process.env.PORT)] : [...DEFAULT_PORTS];
  const answers = await Promise.all(ports.map(healthy));
  process.exit(answers.some(Boolean) ? 0 : 1);
}
