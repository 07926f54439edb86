# frozen_string_literal: true

# Cache-hit cost in Ruby: secretkit next to a plain Hash and the TTL Hash a
# team writes by hand around an SDK call, in one run, against the real moto
# and OpenBao of tests/servers.py. Not a test: it prints figures.
#
#   .venv/bin/python tests/servers.py start --env-file /tmp/sk-env --fixtures
#   set -a; . /tmp/sk-env; set +a; cd bindings-ruby && ruby -Ilib bench/hit.rb
require 'etc'
require 'secretkit'

ROUNDS = Integer(ENV.fetch('BENCH_ROUNDS', '7'))
N = Integer(ENV.fetch('BENCH_N', '500000'))
SSM = 'ssm:/prod/myapp/db-password'
ASM = 'asm:prod/myapp/db-credentials#password'
VAULT = 'vault:secret/myapp/config#api_key'

def clock = Process.clock_gettime(Process::CLOCK_MONOTONIC)

# ns per call of the block, N calls, minus the loop's own cost.
def measure(loop_ns)
  start = clock
  i = 0
  while i < N
    yield
    i += 1
  end
  ((clock - start) * 1e9 / N) - loop_ns
end

client = Secretkit::Client.from_env
[SSM, ASM, VAULT].each { |ref| 2.times { client.get(ref) } }
hash = { SSM => client.get(SSM) }
# What a team writes by hand: a Hash of [value, expires_at] checked on read.
ttl_cache = { SSM => ['value', clock + 300] }
ttl_get = lambda do |key|
  value, expires = ttl_cache[key]
  value if expires && expires > clock
end

cases = {
  'secretkit client.get(ssm)' => -> { client.get(SSM) },
  'secretkit client.get(asm#field)' => -> { client.get(ASM) },
  'secretkit client.get(vault#field)' => -> { client.get(VAULT) },
  'secretkit client.get(ssm).reveal' => -> { client.get(SSM).reveal },
  'Hash#[]' => -> { hash[SSM] },
  'TTL Hash (value + expiry check)' => -> { ttl_get.call(SSM) },
  'a uniffi call (the core asked past a window)' => -> { client.send(:call) { client.instance_variable_get(:@native).window(SSM, 0) } }
}
best = Hash.new(Float::INFINITY)
ROUNDS.times do
  loop_ns = measure(0) { nil }
  cases.each do |name, fn|
    ns = name.start_with?('a uniffi') ? measure(0) { fn.call } / 1 : measure(loop_ns) { fn.call }
    best[name] = [best[name], ns].min
  end
end
client.close

puts "command: cd bindings-ruby && ruby -Ilib bench/hit.rb"
puts "ruby #{RUBY_VERSION}, ffi #{FFI::VERSION}; #{Etc.nprocessors} CPUs; load #{File.read('/proc/loadavg').split.first(3).join(' ')}"
puts "#{ROUNDS} interleaved rounds of #{N} calls per case (the lambda call and loop subtracted); best round"
base = best['Hash#[]']
cases.each_key do |name|
  puts format('%-48s %9.1f ns  %6.2fx Hash#[]', name, best[name], best[name] / base)
end
