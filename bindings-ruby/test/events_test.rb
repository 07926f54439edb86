# frozen_string_literal: true

require_relative 'test_helper'

# Events reach a block on the subscription's thread; watch hears changes.
class EventsTest < Minitest::Test
  def test_on_delivers_created_and_changed_events_naming_no_value
    ENV['SK_RUBY_EVENTS'] = 'first-value'
    c = client
    seen = Queue.new
    subscription = c.on { |event| seen << event }
    c.get('env:SK_RUBY_EVENTS')
    ENV['SK_RUBY_EVENTS'] = 'second-value'
    c.refresh('env:SK_RUBY_EVENTS')
    events = [pop_within(seen, 5), pop_within(seen, 5), pop_within(seen, 5)].compact
    kinds = events.map(&:kind)
    assert_includes kinds, 'created'
    assert_includes kinds, 'changed'
    events.each do |e|
      assert_equal 'env:SK_RUBY_EVENTS', e.reference
      assert_kind_of Time, e.at
      refute_includes e.inspect, 'first-value'
      refute_includes e.inspect, 'second-value'
    end
    subscription.close
    ENV['SK_RUBY_EVENTS'] = 'third-value'
    c.refresh('env:SK_RUBY_EVENTS')
    assert_nil pop_within(seen, 0.5), 'no event after close'
  end

  def test_on_filters_by_kind_and_errors_arrive_as_secretkit_errors
    c = client
    errors = Queue.new
    c.on(:error) { |event| errors << event }
    assert_raises(Secretkit::NotFoundError) { c.get('ssm:/no/such/parameter') }
    event = pop_within(errors, 5)
    refute_nil event, 'an error event'
    assert_equal 'error', event.kind
    assert_instance_of Secretkit::NotFoundError, event.error
    assert_equal 'ssm:/no/such/parameter', event.error.reference
  end

  def test_watch_hears_changes_of_one_secret_and_a_raising_block_does_not_stop_it
    ENV['SK_RUBY_WATCH'] = 'a'
    ENV['SK_RUBY_OTHER'] = 'a'
    c = client
    changes = Queue.new
    calls = 0
    c.watch('env:SK_RUBY_WATCH') do |event|
      calls += 1
      changes << event
      raise 'a bug in the block' if calls == 1
    end
    c.get('env:SK_RUBY_WATCH')
    c.get('env:SK_RUBY_OTHER')
    _out, err = capture_io do
      %w[b c].each do |v|
        ENV['SK_RUBY_WATCH'] = v
        ENV['SK_RUBY_OTHER'] = v
        c.refresh('env:SK_RUBY_OTHER')
        c.refresh('env:SK_RUBY_WATCH')
      end
      # The second event is delivered after the first block call (and its
      # warning) finished: the thread delivers one at a time.
      assert eventually { changes.size >= 2 }, 'both changes delivered'
    end
    assert_includes err, 'event block raised RuntimeError'
    refute_includes err, 'a bug in the block', 'the message is not printed (it could quote a value)'
    assert_equal %w[changed changed], [changes.pop.kind, changes.pop.kind]
    assert_equal 2, calls
  end
end
