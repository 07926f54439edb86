// Compiled with `tsc --noEmit` only: checks index.d.ts describes a real use.
import { Client, Secret, SecretEvent, SecretkitError, Stats, parseReference } from 'secretkit'

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
    const all: Secret[] = await client.getMany(['ssm:/a', 'asm:b'])
    const settled: Array<Secret | SecretkitError> = await client.getMany(['ssm:/a'], { settled: true })
    const loaded: number = await client.prefetch('ssm:/prod/myapp/')
    console.log(again, all.length, settled.length, loaded)
  } catch (e) {
    if (e instanceof SecretkitError && e.code === 'NOT_FOUND') console.log(e.kind, e.reference)
  }
  const stats: Stats = client.stats()
  console.log(stats.hits, stats.staleServes, stats.backendCalls.ssm)
  explicit.invalidate('env:HOME')
  explicit.clear()
  const parsed = parseReference('vault:secret/myapp/config#api_key')
  const field: string | null = parsed.field
  console.log(field)
}

void main()
