# frozen_string_literal: true

module Secretkit
  # What happened to a secret: `created`, `refreshed`, `changed`, `evicted`,
  # `error`, `renewed`, `rotated` or `expired`. Names references, versions,
  # lease ids and usernames; never a value.
  Event = Struct.new(:kind, :reference, :old_version, :new_version, :lease_id, :old_lease_id,
                     :username, :old_username, :ttl, :error, :at, :dropped_before, keyword_init: true) do
    def self.from_native(e)
      new(kind: e.kind, reference: e.reference, old_version: e.old_version, new_version: e.new_version,
          lease_id: e.lease_id, old_lease_id: e.old_lease_id, username: e.username,
          old_username: e.old_username, ttl: e.ttl_secs, error: e.error && Secretkit.error_from(e.error),
          at: Time.at(e.at), dropped_before: e.dropped_before)
    end
  end

  # Events of one Client#on or Client#watch, delivered to its block on a
  # thread of its own, which waits for the next event with the GVL released.
  # An exception in the block is reported with `warn` (its class and where it
  # was raised) and delivery goes on.
  class Subscription
    def initialize(stream, &block)
      @stream = stream
      @thread = Thread.new do
        Thread.current.name = 'secretkit events'
        while (event = stream.next)
          begin
            block.call(Event.from_native(event))
          rescue StandardError => e
            # Class and place only: a message could quote a value the block held.
            warn "secretkit: an event block raised #{e.class} at #{e.backtrace&.first}"
          end
        end
      end
    end

    # Stop: no more calls of the block once this returns (unless from inside
    # the block itself).
    def close
      @stream.close
      @thread.join unless Thread.current == @thread
      nil
    end
  end
end
