// Compiled with `tsc --noEmit` only: checks js/index.d.ts describes a real
// use; each @ts-expect-error line must stay an error.
import {
  Client,
  type ClientConfig,
  type DatabaseCredentials,
  type ErrorCode,
  type ParsedReference,
  Secret,
  SecretkitError,
  type SecretkitEvent,
  type Stats,
  type VaultAuthConfig,
  parseReference,
} from 'secretkit-wasm';

// lib es2022 has no console: values go here.
declare function use(...values: unknown[]): void;

export async function main(env: Record<string, string>): Promise<void> {
  const config: ClientConfig = {
    aws: { region: env.AWS_REGION, accessKeyId: 'a', secretAccessKey: 'b', endpoint: 'http://127.0.0.1:1' },
    vault: { address: 'http://127.0.0.1:1', token: 't', namespace: 'team' },
    defaultTtl: 60,
    ttlJitter: 0,
    refreshAhead: 0.5,
    maxStale: 600,
    negativeTtl: 5,
    retryBase: 0.5,
    retryMax: 30,
    maxEntries: 100,
    timeout: 2,
    revokeOnClose: false,
    revokeReplacedAfter: null,
    allowHttp: false,
    allowLocal: true,
    readAttempts: 3,
  };
  const client = new Client(config);
  const created: Client = await Client.create({});
  const stop: () => void = client.onEvent((e: SecretkitEvent) => {
    const at: Date = e.at;
    const code: ErrorCode | undefined = e.error?.code;
    use(e.kind, e.reference, e.oldVersion, e.newVersion, at.toISOString(), code, e.ttlSecs);
  });
  try {
    const s: Secret = await client.get('ssm:/prod/myapp/db-password');
    const text: string = s.reveal();
    const bytes: Uint8Array = s.revealBytes();
    const when: Date = s.fetchedAt;
    const leaseSeconds: number | undefined = s.lease?.duration;
    use(String(s), s.toJSON(), s.reference, s.version, text.length, bytes.length, when, leaseSeconds);
    const again: Secret = await client.refresh('ssm:/prod/myapp/db-password');
    const all: Secret[] = await client.getMany(['ssm:/a', 'asm:b']);
    const settled: Array<Secret | SecretkitError> = await client.getMany(new Set(['ssm:/a']), { settled: true });
    const loaded: number = await client.prefetch('ssm:/prod/myapp/');
    use(again, all.length, settled.length, loaded);
  } catch (e) {
    if (e instanceof SecretkitError && e.code === 'NOT_FOUND') use(e.kind, e.reference, e.message);
  }
  stop();
  const approle: VaultAuthConfig = { method: 'approle', roleId: 'r', secretId: 's' };
  const leased = new Client({ vault: { address: 'http://127.0.0.1:1', auth: approle } });
  new Client({ vault: { address: 'a', auth: { method: 'kubernetes', role: 'app', jwt: 'j' } } });
  new Client({ vault: { address: 'a', auth: { method: 'jwt', role: 'app', jwt: 'j', mount: 'oidc' } } });
  // @ts-expect-error: no files on the edge, so no token_file method
  new Client({ vault: { address: 'a', auth: { method: 'token_file', path: '/run/token' } } });
  // @ts-expect-error: AppRole needs a secret id
  new Client({ vault: { address: 'a', auth: { method: 'approle', roleId: 'r' } } });
  // @ts-expect-error: seconds are numbers
  new Client({ defaultTtl: '60s' });
  // @ts-expect-error: the constructor is not public; secrets come from a Client
  new Secret();
  const creds: DatabaseCredentials = await leased.databaseCredentials('myapp-readonly', {
    mount: 'database',
    onChange: (e) => use(e.kind === 'rotated', e.oldUsername, e.username, e.oldLeaseId, e.leaseId),
  });
  const password: string = creds.password.reveal();
  use(creds.username, password.length, creds.lease?.id, creds.reference);
  creds.unwatch();
  const unwatch: () => void = leased.watch('vault:secret/myapp/config', (e) => use(e.newVersion));
  unwatch();
  const work: Promise<void> = leased.backgroundWork();
  await work;
  const revoked: number = await leased.close();
  const disposed: Promise<void> = created[Symbol.asyncDispose]();
  await disposed;
  use(revoked);
  const stats: Stats = client.stats();
  use(stats.hits, stats.misses, stats.refreshes, stats.staleServes, stats.errors, stats.backendCalls.vault);
  client.invalidate('env:HOME');
  client.clear();
  const parsed: ParsedReference = parseReference('vault:secret/myapp/config#api_key');
  const field: string | null = parsed.field;
  const ttl: number | null = parsed.ttl_ms;
  use(parsed.scheme, field, ttl);
}
