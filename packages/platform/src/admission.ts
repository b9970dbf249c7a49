// At most `limit` requests do a piece of work at once; the rest queue, first come first served,
// each only until its deadline (deadline.ts). A queue that will not reach a request before its
// deadline refuses it at once (DeadlineExceededError), judged from how long the work has lately
// taken: under a burst beyond what a process can do in time, the excess is told to come back right
// away, at no cost, instead of every request waiting its turn at every stage and all of them being
// late together (which is what first-come-first-served queues do under overload).
import { currentDeadline, DeadlineExceededError, timeLeft } from './deadline.js';

export class Admission {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  /** How long the work has lately taken (ms, a moving average). */
  private took = 0;

  constructor(
    private readonly limit: number,
    private readonly what: string,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`admission limit: a positive integer, not ${limit}`);
  }

  /** How many wait for a slot right now. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * A slot once one is free, or DeadlineExceededError if none will be in time; the slot is held
   * until the returned release is called (once; later calls do nothing).
   */
  async take(): Promise<() => void> {
    if (this.active >= this.limit) await this.wait(); // a slot handed over by the one leaving it
    else if (timeLeft() === 0) throw new DeadlineExceededError(this.what);
    else this.active += 1;
    const started = performance.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.took += (performance.now() - started - this.took) / 8;
      const next = this.queue.shift();
      if (next) next();
      else this.active -= 1;
    };
  }

  /** Runs `work` in a slot once one is free, or throws DeadlineExceededError (nothing run) if none will be in time. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.take();
    try {
      return await work();
    } finally {
      release();
    }
  }

  private wait(): Promise<void> {
    const deadline = currentDeadline();
    // Ahead of this request: the queue, served `limit` at a time, each batch taking about `took`.
    const expected = Math.ceil((this.queue.length + 1) / this.limit) * this.took;
    if (deadline !== undefined && expected > timeLeft(deadline)) return Promise.reject(new DeadlineExceededError(this.what));
    return new Promise<void>((resolve, reject) => {
      const start = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer =
        deadline === undefined
          ? undefined
          : setTimeout(() => {
              this.queue.splice(this.queue.indexOf(start), 1);
              reject(new DeadlineExceededError(this.what));
            }, timeLeft(deadline));
      this.queue.push(start);
    });
  }
}
