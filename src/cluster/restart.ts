/**
 * RestartPolicy decides when a worker that exited is started again. A worker that dies after it
 * served for a while is replaced at once. One that could not start (EADDRINUSE, a port it may not
 * bind) or died young would only die again: restarts back off (100 ms, doubling, at most 5 s),
 * and after `maxConsecutive` such failures in a row the primary gives up and exits non-zero with
 * the cause, as an orchestrator expects of a process that cannot do its job.
 */
export class RestartPolicy {
  readonly maxConsecutive: number;
  readonly healthyAfterMs: number;
  consecutive = 0;

  constructor(maxConsecutive = 5, healthyAfterMs = 10_000) {
    this.maxConsecutive = maxConsecutive;
    this.healthyAfterMs = healthyAfterMs;
  }

  /**
   * failed records a worker exit and returns the delay before the next start, or null to give up.
   * `listened`: the worker had started serving; `livedMs`: how long it ran.
   */
  failed(listened: boolean, livedMs: number): number | null {
    if (listened && livedMs >= this.healthyAfterMs) {
      this.consecutive = 0;
      return 0;
    }
    this.consecutive++;
    if (this.consecutive >= this.maxConsecutive) return null;
    return Math.min(5000, 100 * 2 ** (this.consecutive - 1));
  }
}
