// Compiled with `tsc --noEmit` only: checks index.d.ts describes a real use.
import {
  Client,
  DatabaseCredentials,
  Secret,
  SecretEvent,
  SecretkitError,
  Stats,
  VaultAuth,
  parseReference,
} from 'secretkit'

async function main(): Promise<void> {
  const client = Client.fromEnv({ defaultTtl: 60, refreshAhead: 0.5, maxStale: 600, retryMax: 30 })
  const explicit = new Client({
    aws: { region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 'b', endpoint: 'http://127.0.0.1:1' },
    vault: { address: 'http://127.0.0.1:1', token: 't' },
    timeout: 2,
    ttlJitter: 0,
    negativeTtl: 5,
    retryBase: 0.5,
    maxEntries: 100,
  })
  client.on('changed', (e: SecretEvent) => console.log(e.reference, e.oldVersion, e.newVersion, e.at.toISOString()))
  client.once('error', (e) => console.log(e.error?.code))
  try {
    const s: Secret = await client.get('ssm:/prod/myapp/db-password')
    const text: string = s.reveal()
    const bytes: Buffer = s.revealBytes()
    const when: Date = s.fetchedAt
    const leaseSeconds: number | undefined = s.lease?.duration
    console.log(String(s), s.reference, s.version, text.length, bytes.length, when, leaseSeconds)
    const again: Secret = await client.refresh('ssm:/prod/myapp/db-password')
    const cached: Secret | undefined = client.getCached('ssm:/prod/myapp/db-password')
    console.log(cached?.reference)
    const all: Secret[] = await client.getMany(['ssm:/a', 'asm:b'])
    const settled: Array<Secret | SecretkitError> = await client.getMany(['ssm:/a'], { settled: true })
    const loaded: number = await client.prefetch('ssm:/prod/myapp/')
    console.log(again, all.length, settled.length, loaded)
  } catch (e) {
    if (e instanceof SecretkitError && e.code === 'NOT_FOUND') console.log(e.kind, e.reference)
  }
  const approle: VaultAuth = { method: 'approle', roleIdFile: '/run/role-id', secretId: 's' }
  const leased = new Client({
    vault: { address: 'http://127.0.0.1:1', auth: approle },
    revokeOnClose: false,
    revokeReplacedAfter: null,
  })
  new Client({ vault: { address: 'a', auth: { method: 'kubernetes', role: 'app' } }, revokeReplacedAfter: 30 })
  new Client({ vault: { address: 'a', auth: { method: 'jwt', role: 'app', jwtFile: '/run/jwt', mount: 'oidc' } } })
  new Client({ vault: { address: 'a', auth: { method: 'token_file', path: '/run/token' } } })
  // @ts-expect-error: a value or its file, not both
  new Client({ vault: { address: 'a', auth: { method: 'approle', roleId: 'r', roleIdFile: '/f', secretId: 's' } } })
  // @ts-expect-error: AppRole needs a secret id
  new Client({ vault: { address: 'a', auth: { method: 'approle', roleId: 'r' } } })
  leased.on('rotated', (e: SecretEvent) => console.log(e.oldUsername, '->', e.username, e.oldLeaseId, e.leaseId))
  leased.on('renewed', (e) => console.log(e.leaseId, e.ttlSecs))
  leased.on('expired', (e) => console.log(e.reference))
  const creds: DatabaseCredentials = await leased.databaseCredentials('myapp-readonly', {
    mount: 'database',
    onChange: (e) => console.log(e.kind === 'rotated', e.username),
  })
  const password: string = creds.password.reveal()
  console.log(creds.username, password.length, creds.lease?.id, creds.reference)
  creds.unwatch()
  const unwatch: () => void = leased.watch('vault:secret/myapp/config', (e) => console.log(e.newVersion))
  unwatch()
  const revoked: number = await leased.close()
  await leased[Symbol.asyncDispose]()
  console.log(revoked)
  const stats: Stats = client.stats()
  console.log(stats.hits, stats.staleServes, stats.backendCalls.ssm)
  explicit.invalidate('env:HOME')
  explicit.clear()
  const parsed = parseReference('vault:secret/myapp/config#api_key')
  const field: string | null = parsed.field
  console.log(field)
}

void main()
