// Compiled with `tsc --noEmit` only: checks index.d.ts describes a real use.
import { Client, Secret, SecretkitError, parseReference } from 'secretkit'

async function main(): Promise<void> {
  const client = Client.fromEnv({ defaultTtl: 60 })
  const explicit = new Client({
    aws: { region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 'b', endpoint: 'http://127.0.0.1:1' },
    vault: { address: 'http://127.0.0.1:1', token: 't' },
    timeout: 2,
  })
  try {
    const s: Secret = await client.get('ssm:/prod/myapp/db-password')
    const text: string = s.reveal()
    const bytes: Buffer = s.revealBytes()
    const when: Date = s.fetchedAt
    const leaseSeconds: number | undefined = s.lease?.duration
    console.log(String(s), s.reference, s.version, text.length, bytes.length, when, leaseSeconds)
  } catch (e) {
    if (e instanceof SecretkitError && e.code === 'NOT_FOUND') console.log(e.kind, e.reference)
  }
  explicit.invalidate('env:HOME')
  explicit.clear()
  const parsed = parseReference('vault:secret/myapp/config#api_key')
  const field: string | null = parsed.field
  console.log(field)
}

void main()
