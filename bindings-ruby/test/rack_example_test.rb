# frozen_string_literal: true

require_relative 'test_helper'
require 'digest'
require 'socket'
require 'tmpdir'

# examples/rack served by rackup (WEBrick), the way a Rails or Rack app runs:
# /secrets reads the three example secrets; the second request is served
# from the cache.
class RackExampleTest < Minitest::Test
  EXAMPLE = File.join(REPO, 'examples', 'rack')

  def free_port
    server = TCPServer.new('127.0.0.1', 0)
    server.addr[1]
  ensure
    server&.close
  end

  def get_json(port, path)
    response = Net::HTTP.get_response(URI("http://127.0.0.1:#{port}#{path}"))
    [response.code.to_i, JSON.parse(response.body)]
  end

  def test_the_rack_app_reads_the_three_secrets_once
    Helpers.servers!
    port = free_port
    lib = File.expand_path('../lib', __dir__)
    env = { 'RUBYLIB' => [lib, ENV.fetch('RUBYLIB', nil)].compact.join(':'), 'SECRETKIT_EXAMPLE_FINGERPRINTS' => '1' }
    log = File.join(Dir.tmpdir, "secretkit-rack-#{port}.log")
    pid = spawn(env, 'rackup', '-s', 'webrick', '-o', '127.0.0.1', '-p', port.to_s, File.join(EXAMPLE, 'config.ru'),
                %i[out err] => log)
    ready = eventually(30) do
      get_json(port, '/health').first == 200
    rescue SystemCallError
      false
    end
    assert ready, "the app did not start: #{File.read(log)[-2000..]}"
    status, body = get_json(port, '/secrets')
    assert_equal 200, status, body.inspect
    assert_equal %w[ssm:/prod/myapp/db-password asm:prod/myapp/db-credentials#password
                    vault:secret/myapp/config#api_key], body['secrets'].map { |s| s['reference'] }
    body['secrets'].each do |s|
      assert_equal "Secret(#{s['reference']}, <redacted>)", s['redacted']
      assert_operator s.dig('fingerprint', 'length'), :>, 0
    end
    # The password's fingerprint is the fixture's (read by the app, shown only as a digest).
    assert_equal Digest::SHA256.hexdigest('s3cureP@ssw0rd!')[0, 12], body['secrets'][0].dig('fingerprint', 'sha256')
    assert_equal({ 'ssm' => 1, 'asm' => 1, 'vault' => 1, 'env' => 0, 'file' => 0 }, body['backend_calls'])
    _, again = get_json(port, '/secrets')
    assert_equal body['backend_calls'], again['backend_calls'], 'the second request is served from the cache'
    refute_includes File.read(log), 's3cureP@ssw0rd!'
  ensure
    if pid
      Process.kill('TERM', pid)
      Process.wait(pid)
    end
  end
end
