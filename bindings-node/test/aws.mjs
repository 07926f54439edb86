// Test-side AWS helpers: seed SSM / Secrets Manager through the AWS SDK for
// JS, and run a private moto server that a test may stop and restart.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { SSMClient, PutParameterCommand } from '@aws-sdk/client-ssm'
import { SecretsManagerClient, CreateSecretCommand } from '@aws-sdk/client-secrets-manager'
import { env } from './helpers.mjs'

const sdk = (endpoint) => ({
  region: env.AWS_REGION,
  endpoint,
  credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
})

/** A name no other run has used, for secrets a test creates. */
export function uniqueName(prefix) {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
}

export async function putParameter(name, value, endpoint = env.AWS_ENDPOINT_URL) {
  const ssm = new SSMClient(sdk(endpoint))
  try {
    const out = await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'SecureString', Overwrite: true }))
    return String(out.Version)
  } finally {
    ssm.destroy()
  }
}

export async function createSecret(name, value, endpoint = env.AWS_ENDPOINT_URL) {
  const asm = new SecretsManagerClient(sdk(endpoint))
  try {
    await asm.send(new CreateSecretCommand({ Name: name, SecretString: value }))
  } finally {
    asm.destroy()
  }
}

/** A client for a moto server of our own (not the shared one). */
export function awsConfig(endpoint) {
  return {
    region: env.AWS_REGION,
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    endpoint,
  }
}

const MOTO = fileURLToPath(new URL('../../.venv/bin/moto_server', import.meta.url))

async function freePort() {
  const server = createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A private moto server on a free port; `stop()` kills it, `start()` brings it back on the same port. */
export async function privateMoto() {
  if (!existsSync(MOTO)) throw new Error(`${MOTO} is missing: run scripts/install-deps.sh`)
  const port = await freePort()
  const endpoint = `http://127.0.0.1:${port}`
  let child = null
  const moto = {
    endpoint,
    async start() {
      child = spawn(MOTO, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
      const deadline = Date.now() + 30_000
      for (;;) {
        try {
          if ((await fetch(`${endpoint}/moto-api/`)).ok) return
        } catch {
          // not listening yet
        }
        if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`)
        if (Date.now() > deadline) throw new Error('moto_server did not start in 30 s')
        await new Promise((r) => setTimeout(r, 100))
      }
    },
    async stop() {
      if (!child || child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    },
  }
  await moto.start()
  return moto
}
