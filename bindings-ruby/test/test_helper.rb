# frozen_string_literal: true

# Shared by every test file. Servers come from the environment (source the env
# file tests/servers.py writes): a test that needs them fails, never skips.
require 'minitest/autorun'
require 'json'
require 'net/http'
require 'secretkit'

module Helpers
  REPO = File.expand_path('../..', __dir__)
  VECTORS = JSON.parse(File.read(File.join(REPO, 'tests', 'vectors', 'refs.json')))
  NEEDED = %w[AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION VAULT_ADDR VAULT_TOKEN].freeze

  SSM = 'ssm:/prod/myapp/db-password'
  ASM = 'asm:prod/myapp/db-credentials#password'
  VAULT = 'vault:secret/myapp/config#api_key'

  def self.servers!
    missing = NEEDED.reject { |n| ENV.fetch(n, '') != '' }
    return if missing.empty? && ENV['SK_FIXTURES'] == '1'

    abort "missing #{missing.join(', ')} (or SK_FIXTURES): run `tests/servers.py start --env-file F " \
          '--fixtures` and source F'
  end

  # A fresh client (a fresh cache) from the environment, closed after the test.
  def client(**options)
    Helpers.servers!
    c = Secretkit::Client.from_env(**options)
    (@clients ||= []) << c
    c
  end

  def teardown
    (@clients || []).each(&:close)
    super
  end

  # A Vault API call with the root token (to check what the client did).
  def vault_api(method, path, body = nil)
    uri = URI("#{ENV.fetch('VAULT_ADDR')}/v1/#{path}")
    request = Net::HTTP.const_get(method.capitalize).new(uri)
    request['X-Vault-Token'] = ENV.fetch('VAULT_TOKEN')
    request.body = JSON.generate(body) if body
    response = Net::HTTP.start(uri.host, uri.port) { |http| http.request(request) }
    [response.code.to_i, response.body.to_s.empty? ? {} : JSON.parse(response.body)]
  end

  # Queue#pop with a timeout (Ruby 3.1 has no `timeout:`): nil when empty.
  def pop_within(queue, seconds)
    eventually(seconds) { !queue.empty? } ? queue.pop : nil
  end

  # Wait up to `timeout` seconds for the block to be true.
  def eventually(timeout = 10)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    until (result = yield)
      return result if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.05
    end
    result
  end
end

Minitest::Test.include(Helpers)
