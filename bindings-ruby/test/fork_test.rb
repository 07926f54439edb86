# frozen_string_literal: true

require_relative 'test_helper'
require 'timeout'

# After fork (Puma cluster mode, Unicorn, Resque) a client works in the child
# as if made there: its own runtime, backend connections, counters and
# leases; nothing the child does touches the parent's.
class ForkTest < Minitest::Test
  ROLE = 'myapp-long'

  # Runs the block in `count` forked children; each child's JSON answer.
  def in_children(count)
    reader, writer = IO.pipe
    pids = count.times.map do
      fork do
        reader.close
        writer.puts JSON.generate(yield)
        writer.close
        exit!(0)
      rescue Exception => e # rubocop:disable Lint/RescueException
        writer.puts JSON.generate(error: e.class.name)
        exit!(1)
      end
    end
    writer.close
    statuses = Timeout.timeout(60) { pids.map { |pid| Process.wait2(pid).last } }
    answers = reader.each_line.map { |line| JSON.parse(line) }
    assert statuses.all?(&:success?), answers.inspect
    answers
  ensure
    pids&.each { |pid| Process.kill('KILL', pid) rescue nil } # rubocop:disable Style/RescueModifier
  end

  def test_forked_children_read_with_their_own_client
    c = client
    parent_value = c.get(SSM).reveal
    3.times { c.get(SSM) } # memo hits not yet added to the parent's stats
    answers = in_children(2) do
      value = c.get(SSM).reveal
      fresh = c.get(ASM).reveal
      stats = c.stats
      { same: value == parent_value, fresh: fresh == 's3cureP@ssw0rd!', ssm: stats.backend_calls[:ssm],
        asm: stats.backend_calls[:asm], hits: stats.hits }
    end
    assert_equal 2, answers.size
    answers.each do |a|
      # The child's own client: it read SSM itself (its cache starts empty)
      # and counts none of the parent's hits.
      assert_equal({ 'same' => true, 'fresh' => true, 'ssm' => 1, 'asm' => 1, 'hits' => 0 }, a)
    end
    # The parent's client is untouched: still one SSM call, its hits counted.
    assert_equal 1, c.stats.backend_calls[:ssm]
    assert_equal 3, c.stats.hits
  end

  def test_close_in_a_child_does_not_revoke_the_parents_leases
    c = client
    creds = c.database_credentials(role: ROLE)
    answers = in_children(1) { { revoked: c.close } }
    assert_equal [{ 'revoked' => 0 }], answers
    code, = vault_api(:put, 'sys/leases/lookup', { lease_id: creds.lease.id })
    assert_equal 200, code, "the parent's lease outlives the child's close"
    assert_equal 1, c.close
  end
end
