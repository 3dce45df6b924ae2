/** Masks the password of a database url (postgres://, mysql://: userinfo and a `password=` parameter). */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString().replace('password=%2A%2A%2A', 'password=***');
  } catch {
    // Not a url (a libpq key=value string): mask what looks like a password anyway.
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@').replace(/(password\s*=\s*)\S+/gi, '$1***');
  }
}

/** What a Node network error code means, for a database connector's message. */
export const NODE_REASON: Record<string, string> = {
  ECONNREFUSED: 'connection refused — is the server running and the url right?',
  ETIMEDOUT: 'timed out — is the host reachable (firewall, VPN, security group)?',
  EHOSTUNREACH: 'host unreachable — is the host reachable from this machine?',
  ENETUNREACH: 'network unreachable — check the host in the url and this machine’s network',
  ECONNRESET: 'the connection was reset — the server or a proxy dropped it',
  EPIPE: 'the connection was closed by the server',
  ENOTFOUND: 'host name not found — check the host in the url',
  EAI_AGAIN: 'the host name could not be resolved right now (DNS) — retrying may help',
};
