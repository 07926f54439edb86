# frozen_string_literal: true

require_relative 'test_helper'

# Vault dynamic database credentials (OpenBao's database engine driving the
# PostgreSQL of tests/servers.py --vault-lifecycle): a lease held, renewed by
# the core, revoked by close.
class LifecycleTest < Minitest::Test
  ROLE = 'myapp-long'

  def lease_alive?(id)
    code, = vault_api(:put, 'sys/leases/lookup', { lease_id: id })
    code == 200
  end

  def test_database_credentials_hold_a_lease_that_close_revokes
    c = client
    creds = c.database_credentials(role: ROLE)
    assert_match(/\A\S+\z/, creds.username)
    assert_equal "vault:database/creds/#{ROLE}", creds.reference
    assert_operator creds.password.reveal.size, :>=, 8
    assert_equal "Secret(vault:database/creds/#{ROLE}#password, <redacted>)", creds.password.inspect
    refute_nil creds.lease
    assert creds.lease.renewable
    assert lease_alive?(creds.lease.id), 'the lease exists in Vault'
    # The same credentials again: one lease for the process.
    assert_equal creds.username, c.database_credentials(role: ROLE).username
    assert_equal 1, c.close
    refute lease_alive?(creds.lease.id), 'close revoked the lease'
  end

  def test_revoke_on_close_false_leaves_the_lease
    c = client(revoke_on_close: false)
    creds = c.database_credentials(role: ROLE)
    assert_equal 0, c.close
    assert lease_alive?(creds.lease.id)
    vault_api(:put, 'sys/leases/revoke', { lease_id: creds.lease.id })
  end
end
