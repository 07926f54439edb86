# frozen_string_literal: true

require_relative 'test_helper'
require 'logger'
require 'pp'
require 'stringio'

# tests/vectors/refs.json through the Ruby binding, as every suite reads it.
class VectorsTest < Minitest::Test
  def test_valid_references_parse_to_the_vectors
    VECTORS['valid'].each do |v|
      assert_equal v['parsed'], Secretkit.parse_reference(v['ref']), v['ref']
    end
  end

  def test_invalid_references_are_rejected_with_the_vectors_kind_and_message
    VECTORS['invalid'].each do |v|
      error = assert_raises(Secretkit::InvalidReferenceError, v['ref']) { Secretkit.parse_reference(v['ref']) }
      assert_equal [v['kind'], 'INVALID_REFERENCE'], [error.kind, error.code]
      assert_includes error.message, v['message_contains']
      assert_kind_of Secretkit::Error, error
    end
  end

  def test_get_rejects_invalid_references_too
    c = client
    VECTORS['invalid'].first(5).each do |v|
      error = assert_raises(Secretkit::InvalidReferenceError) { c.get(v['ref']) }
      assert_includes error.message, v['message_contains']
    end
  end

  # Every way Ruby code commonly turns an object into text.
  def renderings(secret)
    log = StringIO.new
    logger = Logger.new(log)
    logger.warn(secret)
    logger.warn("value: #{secret} #{secret.inspect}")
    error = begin
      raise ArgumentError, "bad #{secret}"
    rescue ArgumentError => e
      e.full_message
    end
    [secret.to_s, secret.inspect, "#{secret}", format('%s %p', secret, secret), [secret].inspect,
     { k: secret }.inspect, { k: secret }.to_s, secret.to_json, JSON.generate([secret]), JSON.pretty_generate(k: secret),
     secret.pretty_inspect, PP.pp({ k: [secret] }, +''), log.string, error]
  end

  def test_redaction_in_every_formatting_path
    c = client
    VECTORS['redaction']['cases'].each do |v|
      secret = c.get(v['ref'])
      assert_equal v['shown_as'], secret.to_s
      assert_equal v['shown_as'], secret.inspect
      renderings(secret).each do |shown|
        assert_includes shown, v['shown_as']
        refute_includes shown, v['value']
      end
      assert_equal v['value'], secret.reveal
      assert_equal v['value'].b, secret.reveal_bytes
      assert_raises(TypeError) { Marshal.dump(secret) }
    end
  end
end
