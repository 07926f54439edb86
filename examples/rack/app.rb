# frozen_string_literal: true

require 'digest'
require 'json'

# The example's Rack app: GET /secrets reads the three example secrets through
# secretkit and answers with what can be shown of them (the redacted form,
# version, fetch time; with SECRETKIT_EXAMPLE_FINGERPRINTS=1 a length and
# sha256 prefix, so the demo can prove the values were read). GET /health.
class SecretsApp
  REFERENCES = [
    'ssm:/prod/myapp/db-password',
    'asm:prod/myapp/db-credentials#password',
    'vault:secret/myapp/config#api_key'
  ].freeze

  def initialize(secrets)
    @secrets = secrets
    @fingerprints = ENV['SECRETKIT_EXAMPLE_FINGERPRINTS'] == '1'
  end

  def call(env)
    case env['PATH_INFO']
    when '/health' then json(200, status: 'ok')
    when '/secrets'
      secrets = REFERENCES.map { |reference| read(reference) }
      status = secrets.any? { |s| s.key?(:error) } ? 502 : 200
      json(status, app: 'rack', secrets: secrets, backend_calls: @secrets.stats.backend_calls)
    else json(404, error: 'not found')
    end
  end

  private

  def read(reference)
    describe(@secrets.get(reference))
  rescue Secretkit::Error => e
    # Errors name the reference and the kind, never a value.
    { reference: reference, error: { kind: e.kind, code: e.code, message: e.message } }
  end

  def describe(secret)
    entry = { reference: secret.reference, redacted: secret.to_s, version: secret.version,
              fetched_at: secret.fetched_at.utc.iso8601(3) }
    if @fingerprints
      value = secret.reveal_bytes
      entry[:fingerprint] = { length: value.bytesize, sha256: Digest::SHA256.hexdigest(value)[0, 12] }
    end
    entry
  end

  def json(status, body)
    [status, { 'content-type' => 'application/json' }, [JSON.generate(body)]]
  end
end
