# frozen_string_literal: true

require_relative 'test_helper'

# After fork (Puma cluster mode, Unicorn, Resque) a client works in the child
# as if made there: its own runtime and backend connections.
class ForkTest < Minitest::Test
  def test_a_forked_child_reads_through_the_parents_client
    c = client
    parent_value = c.get(SSM).reveal
    c.get(SSM)
    reader, writer = IO.pipe
    pids = 2.times.map do
      fork do
        reader.close
        value = c.get(SSM).reveal
        fresh = c.get(ASM).reveal
        calls = c.stats.backend_calls
        writer.puts JSON.generate(same: value == parent_value, fresh: fresh == 's3cureP@ssw0rd!',
                                  ssm: calls[:ssm], asm: calls[:asm])
        writer.close
        exit!(0)
      end
    end
    writer.close
    statuses = pids.map { |pid| Process.wait2(pid).last }
    assert statuses.all?(&:success?), statuses.inspect
    answers = reader.each_line.map { |line| JSON.parse(line) }
    assert_equal 2, answers.size
    answers.each do |a|
      # The child's own client: it read SSM itself (its cache starts empty).
      assert_equal({ 'same' => true, 'fresh' => true, 'ssm' => 1, 'asm' => 1 }, a)
    end
    # The parent's client is untouched: still one SSM call, hits served.
    c.get(SSM)
    assert_equal 1, c.stats.backend_calls[:ssm]
  end
end
