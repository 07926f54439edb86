# frozen_string_literal: true

require_relative 'test_helper'

# Reads from moto (SSM, Secrets Manager) and OpenBao, through the cache.
class ReadsTest < Minitest::Test
  def test_the_three_example_secrets_read_and_are_then_cached
    c = client
    values = [SSM, ASM, VAULT].map { |ref| c.get(ref) }
    assert_equal ['s3cureP@ssw0rd!', 's3cureP@ssw0rd!'], values.first(2).map(&:reveal)
    refute_empty values[2].reveal
    calls = c.stats.backend_calls
    assert_equal [1, 1, 1], calls.values_at(:ssm, :asm, :vault)
    # Hits: the same Secret, no backend call, every hit counted.
    100.times { [SSM, ASM, VAULT].each { |ref| assert_equal ref, c.get(ref).reference } }
    stats = c.stats
    assert_equal calls, stats.backend_calls
    assert_equal 300, stats.hits
    assert_equal 3, stats.misses
    assert_kind_of Time, values[0].fetched_at
    assert_in_delta Time.now, values[0].fetched_at, 30
  end

  def test_memo_hits_are_counted_and_repeat_one_secret
    c = client
    c.get(SSM)
    first = c.get(SSM) # the window is given on the second read
    assert_same first, c.get(SSM)
    assert_same first, c[SSM]
    assert_equal 3, c.stats.hits
  end

  def test_get_many_batches_per_backend_and_settles_errors
    c = client
    refs = [SSM, ENV.fetch('SK_CANARY_SSM'), ASM, VAULT, 'ssm:/no/such/parameter']
    answers = c.get_many(refs, settled: true)
    assert_equal refs.first(4), answers.first(4).map(&:reference)
    assert_instance_of Secretkit::NotFoundError, answers[4]
    assert_equal 'ssm:/no/such/parameter', answers[4].reference
    # One GetParameters call for the three SSM names.
    assert_equal 1, c.stats.backend_calls[:ssm]
    error = assert_raises(Secretkit::NotFoundError) { c.get_many(refs) }
    assert_equal 'NOT_FOUND', error.code
  end

  def test_not_found_names_the_reference_and_kind
    error = assert_raises(Secretkit::NotFoundError) { client.get('asm:prod/no-such-secret') }
    assert_equal ['not_found', 'NOT_FOUND', 'asm:prod/no-such-secret'], [error.kind, error.code, error.reference]
    assert_match(/not_found \(asm:prod\/no-such-secret\)/, error.message)
  end

  def test_refresh_invalidate_and_prefetch
    c = client
    first = c.get(SSM)
    assert_operator c.refresh(SSM).fetched_at, :>=, first.fetched_at
    assert_equal 2, c.stats.backend_calls[:ssm]
    c.invalidate(SSM)
    c.get(SSM)
    assert_equal 3, c.stats.backend_calls[:ssm]
    c.clear
    loaded = c.prefetch('ssm:/prod/myapp/')
    assert_operator loaded, :>=, 1
    before = c.stats.backend_calls[:ssm]
    c.get(SSM)
    assert_equal before, c.stats.backend_calls[:ssm], 'a prefetched parameter is a hit'
  end

  def test_a_value_past_its_ttl_is_read_again
    c = client(default_ttl: 1, ttl_jitter: 0)
    c.get(SSM)
    c.get(SSM)
    sleep 1.2
    c.get(SSM)
    assert_equal 2, c.stats.backend_calls[:ssm]
  end

  def test_options_are_checked
    error = assert_raises(Secretkit::ConfigError) { Secretkit::Client.from_env(no_such_option: 1) }
    assert_includes error.message, 'no_such_option'
    error = assert_raises(Secretkit::ConfigError) { Secretkit::Client.from_env(ttl_jitter: 2.0) }
    assert_includes error.message, 'ttl_jitter'
    error = assert_raises(Secretkit::ConfigError) { Secretkit::Client.from_env(read_attempts: 0) }
    assert_includes error.message, 'read_attempts'
    # Vault configurations are checked by the core, named the Ruby way.
    address = 'http://127.0.0.1:1'
    {
      { address: address, auth: { method: 'approle', role_id: 'r' } } => 'secret_id or secret_id_file is required',
      { address: address, token: 't', auth: { method: 'token_file', path: '/f' } } => 'not both',
      { address: address, auth: { method: 'ldap' } } => "got 'ldap'",
      { address: address } => 'without a token'
    }.each do |vault, message|
      error = assert_raises(Secretkit::ConfigError, vault.inspect) { Secretkit::Client.new(vault: vault) }
      assert_includes error.message, message
    end
    error = assert_raises(Secretkit::ConfigError) { Secretkit::Client.new(vault: { address: address, tokn: 't' }) }
    assert_includes error.message, 'tokn'
  end

  def test_explicit_configuration_enables_only_the_backends_given
    Helpers.servers!
    c = Secretkit::Client.new(aws: { region: ENV.fetch('AWS_REGION'), access_key_id: ENV.fetch('AWS_ACCESS_KEY_ID'),
                                     secret_access_key: ENV.fetch('AWS_SECRET_ACCESS_KEY'),
                                     endpoint: ENV.fetch('AWS_ENDPOINT_URL') })
    (@clients ||= []) << c
    assert_equal 's3cureP@ssw0rd!', c.get(SSM).reveal
    error = assert_raises(Secretkit::ConfigError) { c.get(VAULT) }
    assert_equal VAULT, error.reference
  end

  def test_after_close_reads_raise_and_the_memo_is_gone
    c = client
    c.get(SSM)
    c.get(SSM)
    c.close
    assert_raises(Secretkit::ConfigError) { c.get(SSM) }
  end

  # A read waiting on a backend releases the GVL: another thread's cache
  # hits go on meanwhile.
  def test_a_slow_backend_does_not_block_other_threads_hits
    server = TCPServer.new('127.0.0.1', 0) # accepts, never answers
    port = server.addr[1]
    Helpers.servers!
    c = Secretkit::Client.new(vault: { address: "http://127.0.0.1:#{port}", token: 'x' }, timeout: 2, read_attempts: 1)
    (@clients ||= []) << c
    ENV['SK_RUBY_GVL'] = 'v'
    c.get('env:SK_RUBY_GVL')
    waiting = Thread.new { assert_raises(Secretkit::Error) { c.get('vault:secret/x#y') } }
    sleep 0.2
    hits = 0
    hits += 1 while waiting.alive? && c.get('env:SK_RUBY_GVL') && hits < 1_000_000
    waiting.join
    assert_operator hits, :>, 1000, 'hits answered while another thread waited'
  ensure
    server&.close
  end
end
