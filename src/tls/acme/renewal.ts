/**
 * renewalWindow turns `certificatesDuration` (the CA's certificate lifetime, in hours) into when to
 * renew and how often to look, with Traefik's table (pkg/provider/acme `getCertificateRenewDurations`):
 * a 90-day certificate is renewed 30 days before it expires and checked daily; a 1-day one 6 hours
 * before, checked every 10 minutes. Gantry checks at least hourly, because the check also re-reads
 * shared storage for certificates other replicas renewed.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MINUTE = 60_000;

export interface RenewalWindow {
  /** Renew when a certificate expires in less than this. */
  renewBeforeMs: number;
  /** Check that often. */
  checkEveryMs: number;
}

export function renewalWindow(certificatesDurationHours: number): RenewalWindow {
  const h = certificatesDurationHours;
  const [renewBeforeMs, traefikInterval] =
    h >= 365 * 24 ? [120 * DAY, 7 * DAY]
    : h >= 90 * 24 ? [30 * DAY, DAY]
    : h >= 30 * 24 ? [10 * DAY, 12 * HOUR]
    : h >= 6 * 24 ? [2 * DAY, 2 * HOUR]
    : h >= 24 ? [6 * HOUR, 10 * MINUTE]
    : [20 * MINUTE, MINUTE];
  return { renewBeforeMs, checkEveryMs: Math.min(traefikInterval, HOUR) };
}
