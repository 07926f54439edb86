// The Vault lease lifecycle through the binding, against OpenBao's database
// engine and a private PostgreSQL (servers.py --vault-lifecycle). On wasm no
// timer runs the lease work: reads hand what is due to the spawner, so the
// long test reads every 500 ms, as a worker serving requests would, and
// awaits backgroundWork() as it would hand it to ctx.waitUntil. The tests
// run concurrently: the rotation test waits up to max_ttl.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';

import {
  Client,
  Secret,
  SecretkitError,
  rejectsWith,
  serverClient,
  serverConfig,
  sleep,
  throwsWith,
} from './support.mjs';

const run = promisify(execFile);

const LIFECYCLE = [
  'SK_PG_HOST',
  'SK_PG_PORT',
  'SK_PG_DB',
  'SK_PG_ADMIN_USER',
  'SK_PG_ADMIN_PASSWORD',
  'SK_VAULT_DB_ROLE',
  'SK_DB_MAX_TTL',
  'SK_APPROLE_ROLE_ID_FILE',
  'SK_APPROLE_SECRET_ID_FILE',
];

/** The lifecycle fixtures; throws (the test fails) when servers.py ran without --vault-lifecycle. */
function lifecycleEnv() {
  serverConfig();
  const missing = LIFECYCLE.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(`${missing.join(', ')} not set: start the servers with --vault-lifecycle`);
  }
  return process.env;
}

const vaultOnly = (extra = {}) => ({ vault: serverConfig().vault, ...extra });

/** `sql` as `user` through the psql binary; rejects when the login is refused. */
async function psql(user, password, sql) {
  const env = lifecycleEnv();
  const { stdout } = await run(
    'psql',
    ['-h', env.SK_PG_HOST, '-p', env.SK_PG_PORT, '-U', user, '-d', env.SK_PG_DB, '-tAc', sql],
    { env: { ...process.env, PGPASSWORD: password }, timeout: 10_000 },
  );
  return stdout.trim();
}

const countItems = (user, password) => psql(user, password, 'select count(*) from items');

async function roleExists(username) {
  const env = lifecycleEnv();
  const sql = `select count(*) from pg_roles where rolname = '${username.replaceAll("'", "''")}'`;
  return (await psql(env.SK_PG_ADMIN_USER, env.SK_PG_ADMIN_PASSWORD, sql)) === '1';
}

const EVENT_KEYS = [
  'at',
  'error',
  'kind',
  'leaseId',
  'newVersion',
  'oldLeaseId',
  'oldUsername',
  'oldVersion',
  'reference',
  'ttlSecs',
  'username',
].sort();

/** Every event has the documented fields, and shows none of `secrets`. */
function assertClean(event, secrets) {
  assert.deepEqual(Object.keys(event).sort(), EVENT_KEYS);
  const shown = JSON.stringify(event) + Object.values(event).map(String).join(' ');
  for (const secret of secrets) {
    assert.ok(!shown.includes(secret), `event ${event.kind} shows a password`);
  }
}

describe('Vault lifecycle', { concurrency: true }, () => {
  test('renewed, then rotated before max_ttl (onEvent and onChange) while the worker keeps reading; close() revokes', async () => {
    const env = lifecycleEnv();
    const role = env.SK_VAULT_DB_ROLE;
    const client = new Client(vaultOnly());
    const events = [];
    client.onEvent((event) => events.push(event));
    const changes = [];
    const started = Date.now();
    const creds = await client.databaseCredentials(role, { onChange: (event) => changes.push(event) });
    assert.equal(creds.reference, `vault:database/creds/${role}`);
    assert.match(creds.username, /^v-token-/);
    assert.ok(creds.password instanceof Secret);
    assert.equal(String(creds.password), `Secret(${creds.reference}#password, <redacted>)`);
    assert.ok(!JSON.stringify(creds).includes(creds.password.reveal()));
    assert.equal(creds.lease.renewable, true);
    assert.match(creds.lease.id, new RegExp(`^database/creds/${role}/`));
    const passwords = [creds.password.reveal()];

    // Serve "requests" every 500 ms until the rotation (or max_ttl + 5 s).
    const deadline = started + (Number(env.SK_DB_MAX_TTL) + 5) * 1000;
    let firstRenewalAt = null;
    while (Date.now() < deadline && changes.length === 0) {
      const password = await client.get(`${creds.reference}#password`);
      assert.ok(password.reveal().length > 0);
      await client.backgroundWork();
      if (firstRenewalAt === null && events.some((e) => e.kind === 'renewed')) {
        firstRenewalAt = Date.now();
      }
      await sleep(500);
    }
    const rotatedAt = Date.now();
    assert.ok(firstRenewalAt !== null, 'no renewed event');
    assert.ok(firstRenewalAt - started < 9_000, `first renewal after ${firstRenewalAt - started} ms`);
    assert.equal(changes.length, 1, `no rotation within ${rotatedAt - started} ms`);

    const renewed = events.find((e) => e.kind === 'renewed');
    assert.equal(renewed.reference, creds.reference);
    assert.equal(renewed.leaseId, creds.lease.id);
    assert.equal(renewed.username, creds.username);
    assert.ok(renewed.ttlSecs > 0 && renewed.ttlSecs <= 10, `ttlSecs ${renewed.ttlSecs}`);

    const rotated = events.filter((e) => e.kind === 'rotated');
    assert.equal(rotated.length, 1);
    const [change] = changes;
    for (const event of [rotated[0], change]) {
      assert.equal(event.kind, 'rotated');
      assert.equal(event.reference, creds.reference);
      assert.equal(event.oldUsername, creds.username);
      assert.equal(event.oldLeaseId, creds.lease.id);
      assert.match(event.username, /^v-token-/);
      assert.notEqual(event.username, creds.username);
      assert.notEqual(event.leaseId, creds.lease.id);
      assert.ok(event.at instanceof Date);
    }

    // The new credentials log in; the old ones still did at the rotation.
    const fresh = await client.databaseCredentials(role);
    assert.equal(fresh.username, change.username);
    assert.equal(fresh.lease.id, change.leaseId);
    passwords.push(fresh.password.reveal());
    assert.notEqual(passwords[1], passwords[0]);
    assert.equal(await countItems(fresh.username, fresh.password.reveal()), '3');
    for (const event of events) assertClean(event, passwords);
    for (const event of changes) assertClean(event, passwords);

    creds.unwatch();
    creds.unwatch(); // twice is harmless
    assert.equal(await client.close(), 1);
    assert.equal(await roleExists(fresh.username), false, 'close() dropped the role');
    await assert.rejects(countItems(fresh.username, fresh.password.reveal()));
  });

  test('a worker idle past the lease gets new credentials at its next read', async () => {
    const env = lifecycleEnv();
    const client = new Client(vaultOnly());
    const events = [];
    client.onEvent((event) => events.push(event));
    const first = await client.databaseCredentials(env.SK_VAULT_DB_ROLE);
    await sleep((first.lease.duration + 1) * 1000); // no reads: nothing renews it
    assert.deepEqual(
      events.map((e) => e.kind),
      ['created'],
    );
    const next = await client.databaseCredentials(env.SK_VAULT_DB_ROLE);
    await client.backgroundWork();
    assert.notEqual(next.username, first.username);
    // Which comes first, the read of new credentials or the lease work that
    // finds the old lease over, is a race inside the core: `expired` then
    // `created`, or one `rotated`. Either way the old lease is named.
    const kinds = events.map((e) => e.kind).join(' ');
    assert.ok(['created expired created', 'created rotated'].includes(kinds), kinds);
    const over = events[1];
    assert.equal(over.kind === 'expired' ? over.username : over.oldUsername, first.username);
    assert.equal(over.kind === 'expired' ? over.leaseId : over.oldLeaseId, first.lease.id);
    assert.equal(await countItems(next.username, next.password.reveal()), '3');
    assert.equal(await client.close(), 1);
  });

  test('databaseCredentials log in with psql, a wrong password does not; close() revokes and counts', async () => {
    const env = lifecycleEnv();
    const client = new Client(vaultOnly());
    const creds = await client.databaseCredentials(env.SK_VAULT_DB_ROLE, { mount: 'database' });
    assert.equal(await countItems(creds.username, creds.password.reveal()), '3');
    await assert.rejects(countItems(creds.username, `${creds.password.reveal()}x`), /password authentication failed/);
    assert.equal(await roleExists(creds.username), true);
    assert.equal(await client.close(), 1);
    assert.equal(await roleExists(creds.username), false);
    assert.equal(await client.close(), 0, 'nothing left to revoke');
  });

  test('revokeOnClose: false leaves the lease to run out', async () => {
    const env = lifecycleEnv();
    const client = new Client(vaultOnly({ revokeOnClose: false, revokeReplacedAfter: null }));
    const creds = await client.databaseCredentials(env.SK_VAULT_DB_ROLE);
    assert.equal(await client.close(), 0);
    assert.equal(await roleExists(creds.username), true);
    assert.equal(await countItems(creds.username, creds.password.reveal()), '3');
  });

  test('AppRole from inline values (no token): credentials of a v-approle- user', async () => {
    const env = lifecycleEnv();
    const client = new Client({
      vault: {
        address: serverConfig().vault.address,
        auth: {
          method: 'approle',
          roleId: readFileSync(env.SK_APPROLE_ROLE_ID_FILE, 'utf8').trim(),
          secretId: readFileSync(env.SK_APPROLE_SECRET_ID_FILE, 'utf8').trim(),
        },
      },
    });
    const creds = await client.databaseCredentials(env.SK_VAULT_DB_ROLE);
    assert.match(creds.username, /^v-approle-/);
    assert.equal(await countItems(creds.username, creds.password.reveal()), '3');
    assert.equal(await client.close(), 1);
  });

  // The kind is not checked: the core maps the login's HTTP 400 ("invalid
  // role or secret ID") like any read's 400, to invalid_reference.
  test('a wrong AppRole secret id is a typed error that names neither id', async () => {
    const env = lifecycleEnv();
    const roleId = readFileSync(env.SK_APPROLE_ROLE_ID_FILE, 'utf8').trim();
    const secretId = 'not-the-secret-id-0123456789';
    const client = new Client({
      vault: { address: serverConfig().vault.address, auth: { method: 'approle', roleId, secretId } },
    });
    const error = await client.databaseCredentials(env.SK_VAULT_DB_ROLE).then(
      () => assert.fail('logged in'),
      (e) => e,
    );
    assert.ok(error instanceof SecretkitError, String(error));
    assert.match(error.message, /invalid role or secret ID/);
    for (const text of [error.message, String(error), error.stack]) {
      assert.ok(!text.includes(secretId) && !text.includes(roleId), text);
    }
  });

  test('watch(): changed events of one secret, any #field, until unsubscribed', async () => {
    const { address, token } = serverConfig().vault;
    const path = `secret/data/wasm-watch-${process.pid}-${Date.now().toString(36)}`;
    const write = async (value) => {
      const response = await fetch(`${address}/v1/${path}`, {
        method: 'POST',
        headers: { 'X-Vault-Token': token },
        body: JSON.stringify({ data: { value } }),
      });
      assert.equal(response.status, 200, await response.text());
    };
    const ref = `vault:${path.replace('/data/', '/')}`;
    await write('one');
    const client = new Client(vaultOnly());
    const seen = [];
    const unwatch = client.watch(`${ref}#value`, (event) => seen.push(event));
    const other = [];
    client.watch('vault:secret/myapp/config', (event) => other.push(event));
    assert.equal((await client.get(`${ref}#value`)).reveal(), 'one'); // created: not a change
    await write('two');
    assert.equal((await client.refresh(ref)).reveal(), '{"value":"two"}');
    assert.equal(seen.length, 1);
    assert.equal(seen[0].kind, 'changed');
    assert.equal(seen[0].reference, ref);
    assert.equal(seen[0].oldVersion, '1');
    assert.equal(seen[0].newVersion, '2');
    assertClean(seen[0], ['one', 'two']);
    unwatch();
    await write('three');
    await client.refresh(ref);
    assert.equal(seen.length, 1, 'no event after unwatch');
    assert.deepEqual(other, []);
    throwsWith(() => client.watch('nope:x', () => {}), { code: 'INVALID_REFERENCE' });
    assert.throws(() => client.watch(ref), TypeError);
  });
});

test('vault.auth: inline values only; files are refused with a CONFIG error', () => {
  const address = 'http://127.0.0.1:1';
  const refused = [
    { method: 'approle', roleIdFile: '/run/role-id', secretId: 's' },
    { method: 'approle', roleId: 'r', secretIdFile: '/run/secret-id' },
    { method: 'kubernetes', role: 'app', jwtFile: '/var/run/secrets/token' },
    { method: 'jwt', role: 'app', jwtFile: '/run/jwt' },
    { method: 'token_file', path: '/run/token' },
  ];
  for (const auth of refused) {
    throwsWith(() => new Client({ vault: { address, auth } }), {
      code: 'CONFIG',
      messageIncludes: 'files are unavailable on the edge',
    });
  }
  const secret = 'inline-secret-value-123';
  const wrong = [
    [{ method: 'approle', roleId: 'r' }, 'vault.auth.secretId is required'],
    [{ method: 'kubernetes', role: 'app' }, 'vault.auth.jwt is required'],
    [{ method: 'jwt', jwt: secret }, 'vault.auth.role is required'],
    [{ method: 'ldap' }, 'vault.auth.method must be'],
    [{ roleId: 'r', secretId: secret }, 'vault.auth.method must be'],
    [{ method: 'approle', roleId: 'r', secretId: secret, roleID: 'typo' }, 'unknown config key `vault.auth.roleID`'],
    [{ method: 'approle', roleId: 'r', secretId: 7 }, 'invalid type'],
  ];
  for (const [auth, messageIncludes] of wrong) {
    throwsWith(() => new Client({ vault: { address, auth } }), { code: 'CONFIG', messageIncludes, notIncludes: [secret] });
  }
  for (const auth of [
    { method: 'approle', roleId: 'r', secretId: secret, mount: 'approle-2' },
    { method: 'kubernetes', role: 'app', jwt: secret },
    { method: 'jwt', role: 'app', jwt: secret, mount: 'oidc' },
  ]) {
    assert.ok(new Client({ vault: { address, auth } }));
  }
  throwsWith(() => new Client({ vault: { address } }), { code: 'CONFIG', messageIncludes: 'without a token' });
  throwsWith(() => new Client({ vault: { address, token: 't' }, revokeOnClose: 'yes' }), { code: 'CONFIG' });
  throwsWith(() => new Client({ vault: { address, token: 't' }, revokeReplacedAfter: -1 }), {
    code: 'CONFIG',
    messageIncludes: 'revokeReplacedAfter',
  });
  assert.ok(new Client({ vault: { address, token: 't' }, revokeOnClose: false, revokeReplacedAfter: 5 }));
});

test('close() on a client without Vault resolves to 0', async () => {
  assert.equal(await new Client({}).close(), 0);
});

test('after close() a memoized value is not served: the read fails naming its reference', async () => {
  const client = serverClient();
  const first = await client.get('ssm:/prod/myapp/db-password');
  assert.equal(first.reveal(), 's3cureP@ssw0rd!');
  assert.equal(await client.get('ssm:/prod/myapp/db-password'), first, 'memoized while open');
  await client.close();
  await rejectsWith(client.get('ssm:/prod/myapp/db-password'), {
    code: 'CONFIG',
    reference: 'ssm:/prod/myapp/db-password',
  });
});
