// Shared by the test files: the real servers' addresses (from the env file the
// test command sources) and the shared vectors. Missing servers fail, never skip.
import { readFileSync } from 'node:fs'
import { Client } from 'secretkit'

const REQUIRED = ['AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'VAULT_ADDR', 'VAULT_TOKEN']
const missing = REQUIRED.filter((name) => !process.env[name])
if (missing.length) {
  throw new Error(
    `servers not configured (missing ${missing.join(', ')}): ` +
      'run `.venv/bin/python tests/servers.py start --env-file F --fixtures` and source F',
  )
}

export const env = process.env

export const vectors = JSON.parse(readFileSync(new URL('../../tests/vectors/refs.json', import.meta.url), 'utf8'))

export const SSM_PASSWORD = 's3cureP@ssw0rd!'
export const ASM_CREDENTIALS = '{"username":"app_user","password":"s3cureP@ssw0rd!"}'
export const VAULT_CONFIG = { db_host: 'mydb.internal', db_name: 'myapp_prod', api_key: 'sk-abc123' }

/** A client with explicit configuration taken from the environment. */
export function explicitClient(extra = {}) {
  return new Client({
    aws: {
      region: env.AWS_REGION,
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      endpoint: env.AWS_ENDPOINT_URL,
    },
    vault: { address: env.VAULT_ADDR, token: env.VAULT_TOKEN },
    ...extra,
  })
}

/** Awaits `promise`, expecting it to reject; returns the error. */
export async function rejection(promise) {
  try {
    await promise
  } catch (err) {
    return err
  }
  throw new Error('expected a rejection')
}

/** Resolves with the next `kind` event (matching `where`) or rejects after `ms`. */
export function nextEvent(client, kind, { ms = 5000, where = () => true } = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off(kind, listener)
      reject(new Error(`no '${kind}' event within ${ms} ms`))
    }, ms)
    function listener(event) {
      if (!where(event)) return
      clearTimeout(timer)
      client.off(kind, listener)
      resolve(event)
    }
    client.on(kind, listener)
  })
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` (sync or async) every 100 ms until it is truthy; rejects after `ms`, naming `what`. */
export async function until(what, check, ms = 5000) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`)
    await sleep(100)
  }
}

/** Vault's HTTP API with the root token, for setting up (roles, revocations); the JSON answer or null. */
export async function vaultApi(method, path, body) {
  const response = await fetch(`${env.VAULT_ADDR}/v1/${path}`, {
    method,
    headers: { 'X-Vault-Token': env.VAULT_TOKEN },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${await response.text()}`)
  return response.status === 204 ? null : response.json()
}
