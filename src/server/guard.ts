/**
 * Who may talk to the server: the API token, the Host allow-list (DNS rebinding) and the Origin
 * check on state-changing requests (cross-site forms and scripts). Small pure functions; app.ts
 * calls them from one onRequest hook.
 *
 * Why the token is checked against the route the router resolved, never against the URL string:
 * the router decodes percent-escapes (`/%61pi/v1/tasks` is `/api/v1/tasks`) and accepts
 * absolute-form request lines (`GET http://host/api/v1/tasks`), so any string-prefix test on the
 * raw URL can be walked around. Every route needs the token except an explicit public list, and
 * a request that matches no route needs it too (401 before 404: no probing without the token).
 */
import { timingSafeEqual } from 'node:crypto';

/** Routes (as registered, i.e. the router's pattern) that answer without the token: the web app and documents. */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['/', '/:file', '/healthz', '/openapi.json']);

export function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token a request carries: `Authorization: Bearer T`, else `?access_token=T` (EventSource, <img>). */
export function givenToken(authorization: string | undefined, query: unknown): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1];
  const q = (query as Record<string, unknown> | undefined)?.access_token;
  return bearer ?? (typeof q === 'string' ? q : undefined);
}

/** Does this matched route (undefined: no route matched) need the token? */
export function needsToken(route: string | undefined): boolean {
  return route === undefined || !PUBLIC_ROUTES.has(route);
}

/** Host names that always mean this machine: accepted on a localhost bind. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];

export function isLoopbackAddress(host: string): boolean {
  return /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/i.test(host);
}

/** The host name of a Host header or URL authority, lower case, without port or IPv6 brackets. */
export function hostName(authority: string): string | undefined {
  const a = authority.trim().toLowerCase();
  if (a === '') return undefined;
  const v6 = /^\[([0-9a-f:.]+)\](?::\d+)?$/.exec(a);
  if (v6) return v6[1];
  const m = /^([a-z0-9.-]+)(?::\d+)?$/.exec(a);
  return m ? m[1].replace(/\.$/, '') : undefined;
}

/**
 * Is `name` (from hostName) in the allow-list? Entries are names or IP literals; "*.example.org"
 * allows sub-domains. `localhost` also covers `*.localhost` and 127.0.0.0/8 literals (all of
 * them loopback, which a rebinding attacker cannot point at his own server).
 */
export function hostAllowed(name: string | undefined, allowed: readonly string[]): boolean {
  if (!name) return false;
  for (const entry of allowed) {
    const e = entry.toLowerCase();
    if (e === name) return true;
    if (e.startsWith('*.') && name.endsWith(e.slice(1))) return true;
    if (e === 'localhost' && (name.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(name))) return true;
  }
  return false;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Cross-site check of a state-changing request: with an Origin header, its host and port must be
 * the request's own Host (same origin); `Origin: null` (sandboxed frames, file:) is refused.
 * Without Origin (curl, scripts, old browsers' same-origin requests) a `Sec-Fetch-Site:
 * cross-site` still refuses. Returns the reason, or undefined when the request may go on.
 */
export function crossSiteReason(method: string, origin: string | undefined, host: string | undefined, fetchSite: string | undefined): string | undefined {
  if (SAFE_METHODS.has(method.toUpperCase())) return undefined;
  if (origin !== undefined) {
    if (origin === 'null') return 'a request from an opaque origin (Origin: null)';
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      return `a malformed Origin header`;
    }
    if (!host || u.host.toLowerCase() !== host.trim().toLowerCase()) return `a cross-origin request (Origin ${u.origin.slice(0, 100)})`;
    return undefined;
  }
  if (fetchSite === 'cross-site') return 'a cross-site request (Sec-Fetch-Site: cross-site)';
  return undefined;
}

/** A URL as it may be logged: the access_token query value replaced (tokens never reach a log). */
export function redactUrl(url: string): string {
  return url.replace(/([?&;]access_token=)[^&#]*/gi, '$1[redacted]');
}
