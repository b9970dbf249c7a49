// node --import scripts/cpu-profile.mjs: writes a CPU profile of this process after PROFILE_MS
// (default 15 s) to PROFILE_FILE.<pid>.cpuprofile (open it in Chrome DevTools). For bench:cache
// --profile; NODE_OPTIONS refuses --cpu-prof, and the services are stopped by signals.
import { existsSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

// PROFILE_DELAY_MS (default 0) leaves start-up out of the window.
if (process.env.PROFILE_FILE) {
  const session = new Session();
  session.connect();
  const begin = () =>
    session.post('Profiler.enable', () =>
      session.post('Profiler.start', () => {
        setTimeout(() => session.post('Profiler.stop', (error, result) => error || writeFileSync(`${process.env.PROFILE_FILE}.${process.pid}.cpuprofile`, JSON.stringify(result.profile))), Number(process.env.PROFILE_MS ?? 15_000)).unref();
      }),
    );
  const delay = Number(process.env.PROFILE_DELAY_MS ?? 0);
  // PROFILE_START_FILE: start once that file exists (a benchmark creates it when its measured
  // rounds begin, however long the services took to start).
  const startFile = process.env.PROFILE_START_FILE;
  if (startFile) {
    const poll = setInterval(() => existsSync(startFile) && (clearInterval(poll), begin()), 100);
    poll.unref();
  } else if (delay > 0) setTimeout(begin, delay).unref();
  else begin();
}
